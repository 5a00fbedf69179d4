"""optbench: compare optimization algorithms fairly, on one problem interface, under one budget.

The public API is what this module exports. Heavy modules (JAX, pandas) load on first use,
so ``optbench --help`` and ``optbench list optimizers`` start quickly.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

__version__ = "0.7.0"

# Curve fitting needs float64; JAX reads this flag when it is first imported. Problems that
# want float32 (networks) say so through their dtype, and their arrays stay float32.
os.environ.setdefault("JAX_ENABLE_X64", "1")
if "jax" in sys.modules:
    sys.modules["jax"].config.update("jax_enable_x64", True)

# JAX's persistent compilation cache, on unless OPTBENCH_COMPILE_CACHE=0 (see the module).
from optbench.caches.compile_cache import configure as _configure_compile_cache

_configure_compile_cache()

_EXPORTS = {
    "Problem": "optbench.problem",
    "least_squares_problem": "optbench.problem",
    "black_box_problem": "optbench.external.black_box",
    "register_problem": "optbench.registry",
    "register_optimizer": "optbench.registry",
    "Budget": "optbench.budget",
    "Result": "optbench.result",
    "Status": "optbench.result",
    "Front": "optbench.result",
    "NativeSolver": "optbench.solver",
    "StepInfo": "optbench.solver",
    "FirstOrder": "optbench.optimizers.first_order",
    "minimize": "optbench.api",
    "run": "optbench.api",
    "make_problem": "optbench.api",
    "population_history": "optbench.api",
    "tune": "optbench.api",
    "Range": "optbench.tuning.space",
    "load_results": "optbench.store",
    "load_fronts": "optbench.store",
    "OptbenchError": "optbench.errors",
    "SpecError": "optbench.errors",
}

__all__ = [*sorted(_EXPORTS), "__version__"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'optbench' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
