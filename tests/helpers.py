"""Helpers for tests: the repository root, command-line runners, a database snapshot."""

from __future__ import annotations

import os
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


def refused(args: list[str], capsys, message: str) -> str:
    """Run ``optbench ARGS`` in this process: it must end with exit 2 and a last line that
    is one error naming ``message`` (a plugin's own argparse may print its usage before),
    and no traceback. Returns what it printed on stderr."""
    from optbench.cli import main

    assert main(args) == 2
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert message in last and last.startswith("optbench: error:") and "Traceback" not in err
    return err


def child_env(cache: Path) -> dict[str, str]:
    """The environment for a child process with its own compilation cache folder: this
    process's optbench set JAX's cache variables for the session's cache, which a child
    would otherwise inherit."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_") or k == "JAX_ENABLE_X64"}
    env["OPTBENCH_CACHE_DIR"] = str(cache)
    return env


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
