"""Shared fixtures, and a compilation cache of the test session's own."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

# Tests (and the commands they start) cache compiled programs in a folder of their own,
# never in the user's ~/.cache; set before any test imports optbench. Under pytest-xdist
# the workers share the one their controller made (they inherit its environment), so a
# program one compiled the other reads back, and the controller removes it at the end.
_WORKER = "PYTEST_XDIST_WORKER" in os.environ
_CACHE = os.environ["OPTBENCH_TEST_SESSION_CACHE"] if _WORKER else tempfile.mkdtemp(prefix="optbench-test-cache-")
os.environ["OPTBENCH_TEST_SESSION_CACHE"] = os.environ["OPTBENCH_CACHE_DIR"] = _CACHE


# pytest-xdist's workers see COLUMNS=80 and LINES=24, which optbench's tables honour; the
# tests (and the commands they start) get the width of output that is not a terminal
# (120), and set COLUMNS themselves where they check another.
for _name in ("COLUMNS", "LINES"):
    os.environ.pop(_name, None)


def pytest_sessionfinish(session, exitstatus):
    if not _WORKER:
        shutil.rmtree(_CACHE, ignore_errors=True)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "results" / "optbench.sqlite"
