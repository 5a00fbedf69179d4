"""Budgets, stopping, failures and reproducibility of the shared loop."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import optbench
from optbench.budget import Budget
from optbench.drive import loop
from optbench.drive.run_one import run_group
from optbench.drive.run_spec import RunSpec
from optbench.optimizer_config import optimizer_configs
from optbench.result import Status


def test_step_budget_is_exact_and_the_trace_is_complete():
    result = optbench.minimize("linear", "gd", max_steps=37)
    assert result.nit == 37 and result.nfev == 37 and result.njev == 37
    assert list(result.trace["step"]) == list(range(38))
    assert result.trace["best_loss"].is_monotonic_decreasing
    assert result.fun == pytest.approx(result.trace["loss"].iloc[-1])
    assert not result.success and "step budget" in result.message


def test_evaluation_budget():
    result = optbench.minimize("linear", "gd", max_evals=50)
    assert result.status is Status.MAX_EVALS and result.nfev == 50


def test_target_stops_early_at_a_point_that_reaches_it():
    result = optbench.minimize("quadratic", "gd[learning_rate=0.3]", target=0.24)
    assert result.status is Status.TARGET_REACHED and result.success
    assert result.fun <= 0.24 and result.nit < 1000
    assert result.trace["loss"].iloc[-2] > 0.24  # it stopped at the first point below the target
    assert result.nfev_to_target == result.nfev


def test_time_budget():
    result = optbench.minimize("sinusoidal_wave[n=2000]", "adam", max_time=0.2, max_steps=10**7)
    assert result.status is Status.MAX_TIME
    assert 0.2 <= result.time_s < 5


def test_a_diverging_run_is_recorded_as_diverged():
    result = optbench.minimize("quadratic", "gd[learning_rate=5.0]", max_steps=2000)
    assert result.status is Status.DIVERGED and not result.success
    assert result.nit < 2000 and "step" in result.message


def test_a_non_finite_loss_is_diverged_at_step_zero():
    problem = optbench.Problem("nan_bowl", lambda x: jnp.sum(x**2) + jnp.nan, init=jnp.ones(3))
    result = optbench.minimize(problem, "adam")
    assert result.status is Status.DIVERGED and result.nit == 0


def test_an_optimizer_that_raises_fails_with_its_message():
    def broken(learning_rate: float = 0.1):
        raise RuntimeError("no such thing")

    from optbench.optimizer_config import OptimizerConfig
    from optbench.registry import Entry

    config = OptimizerConfig(Entry("optimizer", "broken", broken, frozenset({"grad"})), {"learning_rate": 0.1})
    result = optbench.minimize("linear", config)
    assert result.status is Status.FAILED and result.message == "RuntimeError: no such thing"


def test_same_seed_same_numbers_other_seed_other_start():
    a = optbench.minimize("sinusoidal_wave", "sgd", seed=4, max_steps=300)
    b = optbench.minimize("sinusoidal_wave", "sgd", seed=4, max_steps=300)
    c = optbench.minimize("sinusoidal_wave", "sgd", seed=5, max_steps=300)
    for column in ("loss", "batch_loss"):  # sgd: the full loss where measured, NaN between
        np.testing.assert_array_equal(a.trace[column], b.trace[column])
    assert a.trace["loss"].iloc[0] != c.trace["loss"].iloc[0]


def test_a_learning_rate_grid_and_its_seeds_compile_once():
    loop.clear_programs()
    runs, _ = optbench.run("linear[n=64]", "adam[learning_rate=[0.3,0.1,0.03,0.01]]", seeds=3, max_steps=100)
    assert len(runs) == 12 and (runs["compile_s"] > 0).sum() == 1  # the first run compiled, the others reused
    lanes = 64 if jax.default_backend() == "gpu" else loop.LANES_ON_CPU
    assert (runs["batch_size"] == lanes).all()  # lanes of one execution of the one program (issue 26)
    assert runs.groupby("optimizer")["fun"].nunique().eq(3).all()  # same rate, three seeds, three results
    runs2, _ = optbench.run("linear[n=64]", "adam[learning_rate=[0.2,0.05,0.02,0.5]]", seeds=3, max_steps=100)
    assert (runs2["compile_s"] == 0).all()


def test_raw_objects_run_too():
    problem = optbench.Problem("bowl", lambda x: jnp.sum((x - 3.0) ** 2), init=jnp.zeros(4))
    assert problem.capabilities == {"value", "grad"}
    result = optbench.minimize(problem, optax.sgd(0.1), max_steps=200)
    np.testing.assert_allclose(result.x, 3.0, rtol=1e-10)


def test_problem_metrics_reach_the_trace():
    problem = optbench.Problem(
        "bowl_metrics", lambda x: jnp.sum(x**2), init=jnp.ones(2), metrics=lambda x: {"norm": jnp.linalg.norm(x)}
    )
    result = optbench.minimize(problem, "gd", max_steps=10)
    assert result.trace["norm"].iloc[-1] == pytest.approx(float(np.linalg.norm(result.x)))


def test_a_raw_solver_that_raises_is_a_failed_run_and_a_wrong_object_a_clear_error():
    class Broken(optbench.NativeSolver):
        def init(self, problem, data, params, key):
            return params

        def step(self, problem, data, state):
            raise ValueError("step is not implemented")

        def params(self, state):
            return state

    result = optbench.minimize("linear", Broken())
    assert result.status is Status.FAILED and result.message == "ValueError: step is not implemented"
    with pytest.raises(optbench.OptbenchError, match="expected an optax GradientTransformation"):
        optbench.minimize("linear", object())


def test_a_run_stops_computing_once_it_has_stopped():
    from test_least_squares import _counted_problem

    calls = {"n": 0}
    problem = _counted_problem(calls)
    config = optimizer_configs("lm")[0]
    results = run_group(problem, [RunSpec(problem.spec, config, seed, Budget(max_steps=5000)) for seed in range(3)])
    assert all(r.status is Status.CONVERGED for r in results)
    # A loop that ran out the 5000-step budget would make at least 15,000 calls.
    steps = max(r.nit for r in results)
    assert calls["n"] <= 3 * 3 * (steps + loop.BLOCK + 2)
