"""Unconstrained CUTEst problems (Gould, Orban and Toint, "CUTEst", Comput. Optim. Appl.
60, 2015) from ``sif2jax``, which writes each SIF problem as a pure JAX function: exact
gradients, so every gradient method applies.

Each is ``cutest_<name>`` (``cutest_beale``), computed in float64 from the SIF file's
starting point, with ``f_opt`` where the problem records its optimal value. Where
sif2jax also has the problem as a system of nonlinear equations whose sum of squares is
the objective (BEALE and BEALENE), the problem offers those residuals too, scaled by
sqrt(m) so that optbench's convention, loss = mean(residuals**2), gives CUTEst's
objective: least-squares methods apply as well.

Which problems load and run, their sizes, recorded optima and residual twins are in
``problems/cutest.json``, made by ``scripts/cutest_catalog.py``, so listing them imports
nothing. sif2jax is imported on first use, and only its unconstrained and nonlinear-
equations parts: importing the whole package takes 42 s (one constrained problem,
CLEUVEN7, computes its data eagerly at import), these parts 1.2 s.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import sys
import types
from importlib.metadata import version
from typing import Any

import numpy as np

from optbench.errors import OptbenchError
from optbench.problem import Problem

PACKAGE = "sif2jax"
MISSING = f"needs sif2jax, which is not installed: pip install {PACKAGE} (or pip install 'optbench[suites]')"


def available() -> bool:
    """Whether sif2jax can be imported (checked without importing it)."""
    return importlib.util.find_spec(PACKAGE) is not None


@functools.cache
def sif_problems() -> dict[str, Any]:
    """sif2jax's unconstrained minimisation and nonlinear-equations problems by name."""
    parts = ("_unconstrained_minimisation", "_nonlinear_equations")
    modules = [_import_part(part) for part in parts]
    found = {}
    for module, listing in zip(modules, ("unconstrained_minimisation_problems", "nonlinear_equations_problems")):
        found.update({p.name: p for p in getattr(module, listing)})
    return found


def _import_part(part: str) -> Any:
    """``sif2jax.cutest.<part>`` without running ``sif2jax/__init__`` and
    ``sif2jax/cutest/__init__``, which import every problem. Stand-ins for the two parent
    packages are in ``sys.modules`` only while the part imports; a later ``import
    sif2jax`` runs the real ones and finds the same classes."""
    name = f"sif2jax.cutest.{part}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise OptbenchError(f"CUTEst problems {MISSING}")
    root = spec.submodule_search_locations[0]
    stand_ins = {}
    for package, path in ((PACKAGE, root), (f"{PACKAGE}.cutest", f"{root}/cutest")):
        if package not in sys.modules:
            module = types.ModuleType(package)
            module.__path__ = [path]
            sys.modules[package] = stand_ins[package] = module
    try:
        return importlib.import_module(name)
    finally:
        for package in stand_ins:
            del sys.modules[package]


def cutest_problem(entry: dict[str, Any]) -> Problem:
    """The problem a catalog entry (see ``problems/cutest.json``) describes."""
    import jax.numpy as jnp

    if not available():
        raise OptbenchError(f"problem 'cutest_{entry['name'].lower()}' {MISSING}")
    problems = sif_problems()
    if entry["name"] not in problems:
        raise OptbenchError(f"sif2jax {_version()} has no problem {entry['name']}; the catalog is for sif2jax 0.0.8")
    sif = problems[entry["name"]]
    args = sif.args

    def loss(params: Any) -> Any:
        return sif.objective(params, args)

    residuals = None
    if entry.get("residuals"):
        twin = problems[entry["residuals"]]
        scale = float(np.sqrt(entry["m"]))

        def residuals(params: Any, batch: Any = None) -> Any:
            equations, _ = twin.constraint(params)
            return scale * jnp.ravel(equations)

    f_opt = entry.get("f_opt")
    return Problem(
        name=f"cutest_{entry['name'].lower()}",
        loss=loss,
        init=np.asarray(sif.y0, np.float64),
        description=entry["description"],
        dtype="float64",
        residuals=residuals,
        f_opt=None if f_opt is None else float(f_opt),
    )


def _version() -> str:
    return version(PACKAGE)
