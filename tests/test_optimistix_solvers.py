"""optimistix's solvers in optbench's loop: the answer and the step count of optimistix's
own ``least_squares`` / ``minimise``, honest counts, certified NIST values, lanes."""

import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx
import pytest

import optbench
from optbench.flat_problem import flatten, start_of, vector_function
from optbench.result import Status

# (problem, optbench's name, optimistix's class, the function it works on)
SAME_AS_OPTIMISTIX = [
    ("nist_misra1a[start=1]", "optx_lm", "LevenbergMarquardt", "residuals"),
    ("nist_mgh09[start=2]", "optx_lm", "LevenbergMarquardt", "residuals"),
    ("nist_boxbod[start=1]", "optx_dogleg", "Dogleg", "residuals"),
    ("nist_misra1a[start=2]", "optx_gauss_newton", "GaussNewton", "residuals"),
    ("quadratic", "optx_bfgs", "BFGS", "value"),
    ("cutest_rosenbr", "optx_lbfgs", "LBFGS", "value"),
    ("quadratic", "optx_nelder_mead", "NelderMead", "value"),
]


@pytest.mark.parametrize(
    ("spec", "name", "solver", "kind"), SAME_AS_OPTIMISTIX, ids=[c[1] + " on " + c[0] for c in SAME_AS_OPTIMISTIX]
)
def test_optbench_loop_reaches_optimistix_own_answer_in_as_many_steps(spec, name, solver, kind):
    result = optbench.minimize(spec, name, max_steps=2000)
    problem = optbench.make_problem(spec)
    function = vector_function(problem, problem.data, kind)
    solve = optx.least_squares if kind == "residuals" else optx.minimise
    start = jnp.asarray(start_of(problem, 0))
    own = solve(
        lambda y, _: function(y), getattr(optx, solver)(rtol=1e-8, atol=1e-8), start, max_steps=2000, throw=False
    )
    assert result.status is Status.CONVERGED and result.nit == int(own.stats["num_steps"])
    np.testing.assert_allclose(np.asarray(flatten(result.x)), np.asarray(own.value), rtol=1e-12, atol=0)


def _counted(calls: dict):
    def tick(*_):
        calls["n"] += 1

    def model(p, x):
        jax.debug.callback(tick, p["a"])
        return p["a"] * jnp.exp(-p["k"] * x)

    x = np.linspace(0, 3, 20)
    return optbench.least_squares_problem("counted", model, x, 2.0 * np.exp(-0.7 * x), init={"a": 1.0, "k": 0.1})


@pytest.mark.parametrize("name", ["optx_lm", "optx_dogleg", "optx_bfgs", "optx_nelder_mead"])
@pytest.mark.parametrize("steps", [1, 4, 500])
def test_counts_equal_the_evaluations_the_problem_saw(name, steps):
    calls = {"n": 0}
    result = optbench.minimize(_counted(calls), name, max_steps=steps)
    # A step evaluates its trial once (the value and its linearisation in one pass); the
    # Jacobian or gradient is formed from it, evaluating nothing more. optbench measures the
    # loss at the start and at the end, uncounted.
    assert calls["n"] == result.nfev + 2
    assert result.njev <= result.nit if name != "optx_nelder_mead" else result.njev == 0
    if steps == 500:
        assert result.status is Status.CONVERGED and result.fun < 1e-12


@pytest.mark.parametrize("start", [1, 2])
def test_optx_lm_reaches_the_certified_values_on_the_nist_cases_it_was_measured_on(start):
    lre = {}
    for name in ["misra1a", "thurber", "mgh09", "eckerle4", "rat43", "boxbod"]:
        result = optbench.minimize(f"nist_{name}[start={start}]", "optx_lm")
        lre[name] = result.metrics["lre"]
        assert result.success, (name, result.message)
    assert min(lre.values()) >= 6, lre


def test_optx_bfgs_reaches_recorded_cutest_optima_and_the_budget_is_a_hard_limit():
    for spec in ["cutest_rosenbr", "cutest_beale"]:
        result = optbench.minimize(spec, "optx_bfgs")
        assert result.success and result.fun < 1e-10, (spec, result.fun)
    capped = optbench.minimize("cutest_rosenbr", "optx_nelder_mead", max_evals=50)
    assert capped.status is Status.MAX_EVALS and capped.nfev <= 50


def test_without_optimistix_the_solvers_say_what_to_install(monkeypatch, capsys):
    import importlib.util

    from helpers import refused

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "optimistix" else real(name, *a))
    refused(
        ["run", "-p", "quadratic", "-o", "optx_bfgs", "--db", "/nonexistent/x.sqlite"], capsys, "pip install optimistix"
    )
