"""Shared fixtures, and a compilation cache of the test session's own."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

# Tests (and the commands they start) cache compiled programs in a folder of their own,
# never in the user's ~/.cache; set before any test imports optbench.
_CACHE = tempfile.mkdtemp(prefix="optbench-test-cache-")
os.environ["OPTBENCH_CACHE_DIR"] = _CACHE


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_CACHE, ignore_errors=True)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "results" / "optbench.sqlite"
