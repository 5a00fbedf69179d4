"""Shared fixtures."""

from pathlib import Path

import pytest


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "results" / "optbench.sqlite"
