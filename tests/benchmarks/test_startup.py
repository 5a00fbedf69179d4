"""Start-up: ``optbench --help`` must not import JAX; listing optimizers should not either."""

import subprocess
import sys

from timing import best_time, report


def _run(*args: str):
    return lambda: subprocess.run([sys.executable, *args], check=True, capture_output=True)


def test_startup_against_importing_jax(benchmark):
    help_ = _run("-m", "optbench", "--help")
    list_ = _run("-m", "optbench", "list", "optimizers")
    jax = _run("-c", "import jax")
    check = (
        "import sys\nfrom optbench.cli import main\nmain(['list', 'optimizers'])\n"
        "assert 'jax' not in sys.modules and 'pandas' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", check], check=True, capture_output=True)
    benchmark.pedantic(help_, rounds=3, iterations=1)
    reference = best_time(jax, 3)
    report(benchmark, "optbench --help vs import jax", best_time(help_, 3), reference, "well below 1")
    report(benchmark, "optbench list optimizers vs import jax", best_time(list_, 3), reference, "well below 1")
