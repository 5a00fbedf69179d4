"""Helpers for tests: the repository root, a command-line runner, a database snapshot."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """``python -m optbench ARGS`` in a fresh process, as a user would run it."""
    return subprocess.run(
        [sys.executable, "-m", "optbench", *args], capture_output=True, text=True, cwd=cwd or REPO, timeout=timeout
    )


def db_rows(path: Path) -> list[tuple]:
    """Every stored run and trace row, to check that a database is untouched."""
    with sqlite3.connect(path) as conn:
        return (
            conn.execute("SELECT * FROM runs ORDER BY run_id").fetchall()
            + conn.execute("SELECT * FROM traces ORDER BY run_id, step").fetchall()
        )


def plugin_dir(folder: Path, source: str, name: str = "plugin.py") -> Path:
    """A plugin folder under ``folder`` holding one file with ``source`` (dedented)."""
    plugins = folder / "plugins"
    plugins.mkdir(exist_ok=True)
    (plugins / name).write_text(textwrap.dedent(source))
    return plugins
