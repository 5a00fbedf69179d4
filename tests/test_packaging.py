"""A plain, non-editable install finds the built-in problems and suites from any directory."""

import os
import subprocess
import sys

import pytest
from helpers import REPO


@pytest.mark.slow
def test_non_editable_install_finds_builtin_problems(tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(REPO)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    code = "import optbench, sys; print(optbench.__file__)"
    where = subprocess.run([sys.executable, "-c", code], cwd=elsewhere, env=env, capture_output=True, text=True)
    assert where.stdout.startswith(str(target)), where.stdout + where.stderr
    for what, expected in (("problems", "sinusoidal_wave"), ("suites", "default")):
        listed = subprocess.run(
            [sys.executable, "-m", "optbench", "list", what],
            cwd=elsewhere,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert listed.returncode == 0 and expected in listed.stdout, listed.stderr
