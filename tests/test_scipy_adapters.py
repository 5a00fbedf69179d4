"""The scipy reference adapters: counts as scipy reports them, budgets, agreement with native."""

import jax
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree
from scipy.optimize import least_squares, minimize

import optbench
from optbench.registry import REGISTRY
from optbench.result import Status


def _numpy_functions(problem):
    """The problem's functions for scipy, without optbench in between."""
    x0, unravel = ravel_pytree(problem.init_params(jax.random.split(jax.random.PRNGKey(0))[0]))
    value = jax.jit(lambda v: problem.value(unravel(v)))
    grad = jax.jit(jax.value_and_grad(lambda v: problem.value(unravel(v))))
    residuals = jax.jit(lambda v: problem.residuals(unravel(v)))
    jacobian = jax.jit(jax.jacfwd(lambda v: problem.residuals(unravel(v))))
    return np.asarray(x0), {
        "value": lambda v: float(value(v)),
        "value_and_grad": lambda v: tuple(np.asarray(a) for a in grad(v)),
        "residuals": lambda v: np.asarray(residuals(v)),
        "jacobian": lambda v: np.asarray(jacobian(v)),
    }


@pytest.mark.parametrize("method, name", [("lm", "scipy_lm"), ("trf", "scipy_trf")])
def test_least_squares_counts_are_scipys(method, name):
    problem = REGISTRY.problem("nist_misra1b[start=2]")
    x0, f = _numpy_functions(problem)
    reference = least_squares(f["residuals"], x0, jac=f["jacobian"], method=method)
    ours = optbench.minimize(problem, name)
    assert (ours.nfev, ours.njev) == (reference.nfev, reference.njev)
    np.testing.assert_allclose(ours.x, reference.x, rtol=1e-12)
    assert ours.status is Status.CONVERGED and ours.message == reference.message


@pytest.mark.parametrize(
    "method, name, gradient",
    [
        ("BFGS", "scipy_bfgs", True),
        ("L-BFGS-B", "scipy_lbfgsb", True),
        ("Nelder-Mead", "scipy_nelder_mead", False),
    ],
)
def test_minimize_counts_are_scipys(method, name, gradient):
    problem = REGISTRY.problem("quadratic")
    x0, f = _numpy_functions(problem)
    reference = minimize(f["value_and_grad"] if gradient else f["value"], x0, jac=gradient or None, method=method)
    ours = optbench.minimize(problem, name)
    assert (ours.nfev, ours.nit) == (reference.nfev, reference.nit)
    assert ours.njev == (reference.njev if gradient else 0)
    np.testing.assert_allclose(ravel_pytree(ours.x)[0], reference.x, rtol=1e-10)


def test_budgets_stop_the_library():
    spent = optbench.minimize("quadratic", "scipy_bfgs", max_evals=5)
    assert spent.status is Status.MAX_EVALS and spent.nfev == 5 and not spent.success
    steps = optbench.minimize("quadratic", "scipy_nelder_mead", max_steps=5)
    assert steps.status is Status.MAX_STEPS and steps.nit == 5
    target = optbench.minimize("quadratic", "scipy_lm", target=0.3)
    assert target.status is Status.TARGET_REACHED and target.fun <= 0.3 and target.success
    stopped = optbench.minimize("quadratic", "scipy_lm", max_steps=2)
    assert stopped.status is Status.MAX_STEPS and stopped.njev == 2


@pytest.mark.parametrize("name", ["nist_misra1a", "nist_chwirut2", "nist_danwood", "nist_kirby2", "nist_lanczos3"])
def test_native_lm_agrees_with_minpack(name):
    native = optbench.minimize(f"{name}[start=2]", "lm")
    reference = optbench.minimize(f"{name}[start=2]", "scipy_lm[xtol=1e-15,ftol=1e-15,gtol=1e-15]")
    assert native.success and reference.success
    np.testing.assert_allclose(native.x, reference.x, rtol=1e-6)


@pytest.mark.parametrize("name", ["nist_misra1a", "nist_danwood", "nist_kirby2", "nist_rat42", "nist_mgh09"])
def test_native_bfgs_agrees_with_scipys(name):
    native = optbench.minimize(f"{name}[start=2]", "bfgs")
    reference = optbench.minimize(f"{name}[start=2]", "scipy_bfgs[gtol=1e-12]", max_steps=5000)
    assert native.success and reference.success
    np.testing.assert_allclose(native.x, reference.x, rtol=1e-6)


def test_adapters_skip_what_they_cannot_use_and_record_a_trace():
    import jax.numpy as jnp

    plain = optbench.Problem("plain_quartic", lambda x: jnp.sum(x**4), init=jnp.ones(2))
    assert optbench.minimize(plain, "scipy_lm").status is Status.SKIPPED
    result = optbench.minimize("sinusoidal", "scipy_bfgs")
    trace = result.trace
    assert trace["nfev"].is_monotonic_increasing and trace["nfev"].iloc[-1] == result.nfev
    assert trace["best_loss"].iloc[-1] == pytest.approx(result.fun, rel=1e-12)


def test_minimize_takes_a_library_solver_object():
    from optbench.optimizers.scipy_adapters import ScipyMinimize

    by_object = optbench.minimize("quadratic", ScipyMinimize("BFGS", gradient=True))
    by_name = optbench.minimize("quadratic", "scipy_bfgs")
    assert by_object.status is Status.CONVERGED and by_object.success
    assert (by_object.nfev, by_object.nit) == (by_name.nfev, by_name.nit)


def test_overflow_inside_a_library_run_prints_no_warning():
    # scipy's trf overflows on its way from NIST BoxBOD's first start; that is part of the
    # run (its status says how it ended), not a RuntimeWarning on the user's terminal.
    import warnings

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        result = optbench.minimize("nist_boxbod", "scipy_trf", max_steps=1000)
    assert result.status is not Status.FAILED
    assert [w for w in seen if issubclass(w.category, RuntimeWarning)] == []
