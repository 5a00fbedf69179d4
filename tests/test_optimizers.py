"""Every registered optimizer, on every small built-in problem; tests come from the registries."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import optbench
from optbench.optimizer_config import optimizer_configs
from optbench.optimizers.first_order import FirstOrder, minibatch
from optbench.registry import REGISTRY
from optbench.result import Status


def small_problems() -> list[str]:
    return [name for name in REGISTRY.names("problem") if "smoke" in REGISTRY.get("problem", name).tags]


def first_order_names() -> list[str]:
    return [n for n in REGISTRY.names("optimizer") if REGISTRY.get("optimizer", n).family == "first_order"]


@pytest.mark.parametrize("optimizer", REGISTRY.names("optimizer"))
@pytest.mark.parametrize("problem", small_problems())
def test_every_pair_runs_or_skips_with_a_reason(optimizer, problem):
    result = optbench.minimize(problem, optimizer, max_steps=200)
    if result.status is Status.SKIPPED:
        assert "requires" in result.message or "runs on float64 problems only" in result.message
        return
    assert result.status in (Status.MAX_STEPS, Status.CONVERGED), result.message
    assert np.isfinite(result.fun)
    assert result.fun <= result.trace["loss"].iloc[0]
    assert result.trace["step"].iloc[-1] == result.nit
    assert result.nit == 200 if result.status is Status.MAX_STEPS else result.nit < 200


@pytest.mark.parametrize("optimizer", first_order_names())
def test_first_order_follows_the_plain_optax_loop(optimizer):
    """20 steps of optbench's compiled loop against a hand-written optax loop."""
    problem = REGISTRY.problem("quadratic")
    config = optimizer_configs(optimizer)[0]
    solver = config.build(config.floats)
    assert isinstance(solver, FirstOrder)
    seed = 3
    init_key, run_key = jax.random.split(jax.random.PRNGKey(seed))
    params = problem.init_params(init_key)
    opt_state = solver.transform.init(params)
    losses = []
    for step in range(20):
        batch = problem.data if solver.batch_size is None else minibatch(problem.data, run_key, step, solver.batch_size)
        losses.append(float(problem.value(params, batch)))  # a minibatch method's trace: batch_loss
        grads = jax.grad(problem.value)(params, batch)
        updates, opt_state = solver.transform.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
    result = optbench.minimize(problem, optimizer, seed=seed, max_steps=20)
    column = "loss" if solver.batch_size is None else "batch_loss"
    np.testing.assert_allclose(result.trace[column].to_numpy()[:20], losses, rtol=1e-12)
    for name in params:
        np.testing.assert_allclose(result.x[name], params[name], rtol=1e-12)


@pytest.mark.parametrize(
    "optimizer", ["gd[learning_rate=0.3]", "momentum[learning_rate=0.1]", "adam[learning_rate=0.1]"]
)
@pytest.mark.parametrize("problem", ["linear", "quadratic"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_reaches_the_exact_least_squares_optimum(optimizer, problem, seed):
    f_opt = REGISTRY.problem(problem).f_opt
    result = optbench.minimize(problem, optimizer, seed=seed)  # default budget: 1000 steps
    assert (result.fun - f_opt) / f_opt <= 1e-8
    x_opt = REGISTRY.problem(problem).x_opt
    for name, value in x_opt.items():
        assert result.x[name] == pytest.approx(value, rel=1e-3)


def test_a_user_registered_optax_factory_is_a_first_order_optimizer():
    name = "test_lion"
    if name not in REGISTRY.entries["optimizer"]:

        @optbench.register_optimizer(name)
        def lion(learning_rate: float = 0.01):
            """Lion, registered straight from optax."""
            return optax.lion(learning_rate)

    result = optbench.minimize("linear", name, max_steps=300)
    assert result.status is Status.MAX_STEPS and result.fun < result.trace["loss"].iloc[0]
    assert REGISTRY.get("optimizer", name).description == "Lion, registered straight from optax."


def test_minibatches_visit_every_example_once_per_epoch_and_reproduce():
    data = (jnp.arange(10), jnp.arange(10) * 2)
    key = jax.random.PRNGKey(7)
    for epoch in range(3):
        rows = np.concatenate([np.asarray(minibatch(data, key, epoch * 3 + i, 3)[0]) for i in range(3)])
        assert len(set(rows.tolist())) == 9  # 3 batches of 3 from 10 examples: no repeats
    first = [np.asarray(minibatch(data, key, i, 3)[0]) for i in range(6)]
    again = [np.asarray(minibatch(data, key, i, 3)[0]) for i in range(6)]
    assert all((a == b).all() for a, b in zip(first, again))
    assert not all((a == b).all() for a, b in zip(first[:3], first[3:]))  # a new order each epoch
    assert (np.asarray(minibatch(data, key, 0, 3)[1]) == 2 * np.asarray(minibatch(data, key, 0, 3)[0])).all()


def test_batch_size_larger_than_the_data_fails_clearly():
    result = optbench.minimize("linear[n=10]", "sgd[batch_size=32]", max_steps=10)
    assert result.status is Status.FAILED
    assert "batch_size 32 exceeds the 10 training examples" in result.message
