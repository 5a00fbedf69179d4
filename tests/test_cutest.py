"""Unconstrained CUTEst problems from sif2jax: the catalog loads, each problem is sif2jax's
objective, least-squares twins give the same loss, and a handful reach their recorded
optimal values with lm and bfgs."""

import json
import sys

import numpy as np
import pytest

import optbench
from optbench.external import cutest
from optbench.registry import REGISTRY, builtin_problems_dir

if not cutest.available():  # not importorskip: importing all of sif2jax takes 42 s
    pytest.skip("sif2jax is not installed (pip install 'optbench[suites]')", allow_module_level=True)

CATALOG = json.loads((builtin_problems_dir() / "cutest.json").read_text())
ENTRIES = {entry["name"]: entry for entry in CATALOG["problems"]}


def test_every_catalog_problem_is_registered_and_only_the_cheap_parts_of_sif2jax_load():
    names = {n for n in REGISTRY.names("problem") if n.startswith("cutest_")}
    assert names == {f"cutest_{name.lower()}" for name in ENTRIES} and len(names) == 197
    REGISTRY.problem("cutest_beale")
    # The whole package takes 42 s to import (CLEUVEN7 computes its data at import time).
    assert "sif2jax.cutest._constrained_minimisation" not in sys.modules


@pytest.mark.parametrize("name", ["BEALE", "MISRA1ALS", "HILBERTA", "BIGGS6", "ROSENBR", "DENSCHND"])
def test_a_cutest_problem_is_sif2jaxs_objective_with_its_residuals_scaled_to_it(name):
    sif = cutest.sif_problems()[name]
    problem = REGISTRY.problem(f"cutest_{name.lower()}")
    y0 = np.asarray(sif.y0, np.float64)
    np.testing.assert_array_equal(np.asarray(problem.init), y0)
    rng = np.random.default_rng(0)
    for y in (y0, y0 + 0.1 * rng.standard_normal(y0.shape)):
        value = float(sif.objective(y, sif.args))
        assert float(problem.loss(y)) == value
        if problem.residuals is not None:  # optbench's convention: loss = mean(residuals**2)
            assert float(np.mean(np.asarray(problem.residuals(y)) ** 2)) == pytest.approx(value, rel=1e-12, abs=1e-300)
    assert ("residuals" in problem.capabilities) == ("residuals" in ENTRIES[name])
    assert problem.f_opt == ENTRIES[name].get("f_opt")


# Least-squares problems with a recorded optimum that lm and bfgs both reach from the SIF
# file's start under 1,000 steps (More, Garbow and Hillstrom 1981 for the first five).
REACHED = ["BEALE", "BOX3", "DENSCHNB", "JENSMP", "BARD", "DENSCHND"]


@pytest.mark.parametrize("name", REACHED)
@pytest.mark.parametrize("optimizer", ["lm", "bfgs"])
def test_cutest_problems_reach_their_recorded_optima(name, optimizer):
    problem = REGISTRY.problem(f"cutest_{name.lower()}")
    assert problem.f_opt is not None and "residuals" in problem.capabilities
    result = optbench.minimize(problem.spec, optimizer, max_steps=1000)
    assert result.fun <= problem.f_opt + 1e-6 * abs(problem.f_opt) + 1e-10, (result.fun, problem.f_opt)


def test_a_recorded_value_that_is_not_the_minimum_is_not_an_optimum():
    """KOWOSB records 1.02734e-3, the value at infinity; its minimum is 3.07506e-4 (More,
    Garbow and Hillstrom 1981, problem 15). The catalog drops it, and lm goes below it."""
    assert "f_opt" not in ENTRIES["KOWOSB"] and "scipy's BFGS" in ENTRIES["KOWOSB"]["f_opt_dropped"]
    problem = REGISTRY.problem("cutest_kowosb")
    assert problem.f_opt is None
    assert optbench.minimize("cutest_kowosb", "lm").fun < 0.31e-3  # 3.07801e-4 with sif2jax's data
