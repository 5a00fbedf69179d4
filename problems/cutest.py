"""Unconstrained CUTEst problems from sif2jax: ``cutest_<name>`` (``cutest_beale``), one per
problem of ``cutest.json`` beside this file (made by ``scripts/cutest_catalog.py``).
Registered only where sif2jax is installed (``pip install 'optbench[suites]'``);
elsewhere, asking for one says what to install. See ``optbench.external.cutest``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from optbench import Problem, register_problem
from optbench.external import cutest
from optbench.registry import register_missing

_CATALOG = Path(__file__).with_name("cutest.json")


def _register(entry: dict[str, Any]) -> None:
    def factory() -> Problem:
        return cutest.cutest_problem(entry)

    least_squares = ", least squares" if entry.get("residuals") else ""
    known = f", f_opt {entry['f_opt']:.6g}" if "f_opt" in entry else ""
    factory.__doc__ = f"{entry['description']} [{entry['n']} variables{least_squares}{known}]"
    register_problem(f"cutest_{entry['name'].lower()}", tags=("cutest",))(factory)


if cutest.available():
    for _entry in json.loads(_CATALOG.read_text())["problems"]:
        _register(_entry)
else:
    register_missing("cutest_", cutest.MISSING)
