"""Every method's trace starts with the starting point at evaluation 1.

The first row of a trace is the loss at the start with the count its evaluation had: 1,
for every method that evaluates its start first (a population method has none: its first
row is its first population's best, known after the whole population). The counts of a
run (``nfev``) are the evaluations it made, as before: a row's count is when its loss was
known, so a step that evaluated past it (a line search, a simplex) adds to the run's.
"""

import jax.numpy as jnp
import numpy as np
import pytest

import optbench
from optbench.analysis import best_at_budgets
from optbench.registry import REGISTRY

START = jnp.asarray([-1.2, 1.0])


def rosenbrock(x):
    return 100.0 * (x[1] - x[0] ** 2) ** 2 + (1.0 - x[0]) ** 2


ROSENBROCK = optbench.Problem("start_rosenbrock", rosenbrock, init=START)
AT_START = 24.2  # by hand: 100 (1 - 1.44)^2 + 2.2^2


@pytest.mark.parametrize(
    "name",
    [
        "nelder_mead",
        "bfgs",
        "lbfgs",
        "gd[learning_rate=1e-4]",
        "adam",
        "scipy_nelder_mead",
        "scipy_bfgs",
        "scipy_lbfgsb",
    ],
)
def test_the_first_row_is_the_start_at_evaluation_1(name):
    result = optbench.minimize(ROSENBROCK, name, max_evals=60)
    first = result.trace.iloc[0]
    assert first["nfev"] == 1
    np.testing.assert_allclose(first["loss"], AT_START, rtol=1e-12)
    assert result.trace["nfev"].is_monotonic_increasing
    assert result.trace["nfev"].iloc[-1] <= result.nfev <= 60


@pytest.mark.parametrize("name", ["lm", "gauss_newton", "scipy_lm"])
def test_least_squares_methods_start_at_evaluation_1(name):
    problem = REGISTRY.problem("nist_misra1a")
    result = optbench.minimize(problem, name, max_evals=50)
    first = result.trace.iloc[0]
    assert first["nfev"] == 1
    np.testing.assert_allclose(first["loss"], float(problem.value(problem.init, problem.data)), rtol=1e-12)


def test_a_target_met_at_the_start_is_met_at_evaluation_1():
    # Each method's evaluations to a target the start already meets: 1, as COCO counts.
    for name in ["nelder_mead", "bfgs", "lbfgs", "scipy_nelder_mead"]:
        result = optbench.minimize(ROSENBROCK, name, max_evals=60, target=AT_START + 1.0)
        assert result.nfev_to_target == 1, name


def test_a_population_method_starts_after_its_first_population():
    result = optbench.minimize(ROSENBROCK, "ga[pop_size=40]", max_evals=400)
    assert result.trace["nfev"].iloc[0] == 40


def test_the_fixed_budget_view_has_a_value_at_one_evaluation():
    runs, traces = optbench.run(["nist_misra1a"], ["lbfgs", "gauss_newton", "nelder_mead"], max_evals=40)
    table = best_at_budgets(runs, traces, budgets=[1])
    assert table["best_loss"].notna().all(), table
    problem = REGISTRY.problem("nist_misra1a")
    np.testing.assert_allclose(table["best_loss"], float(problem.value(problem.init, problem.data)), rtol=1e-12)
