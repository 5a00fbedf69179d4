"""A minibatch method's trace: the minibatch loss each step saw (``batch_loss``), and the
full training loss (``loss``) where optbench measured it: at the start, on the metrics'
schedule (after steps 16, 32, 64, 128 and every 128th) and at the end. A step costs its
minibatch, not a pass over the data."""

import jax
import jax.numpy as jnp
import numpy as np
import optax

import optbench
from optbench.optimizers.first_order import minibatch
from optbench.registry import REGISTRY
from optbench.result import Status

MEASURED = [0, 16, 32, 64, 128, 256]  # rows with the full training loss, before the end


def test_the_trace_matches_sgd_written_by_hand():
    problem, seed, steps = REGISTRY.problem("linear[n=200]"), 2, 300
    result = optbench.minimize(problem, "sgd[learning_rate=0.05,batch_size=32]", seed=seed, max_steps=steps)
    # The same run by hand: optbench's keys and starting point, optax's SGD, optbench's minibatches.
    init_key, run_key = jax.random.split(jax.random.PRNGKey(seed))
    params, transform = problem.init_params(init_key), optax.sgd(0.05)
    state, batch_losses, full_losses = transform.init(params), [], {}
    for step in range(steps):
        if step in MEASURED:
            full_losses[step] = float(problem.value(params, problem.data))
        loss, grad = jax.value_and_grad(problem.value)(params, minibatch(problem.data, run_key, step, 32))
        updates, state = transform.update(grad, state, params)
        params = optax.apply_updates(params, updates)
        batch_losses.append(float(loss))
    full_losses[steps] = float(problem.value(params, problem.data))

    trace = result.trace.set_index("step")
    np.testing.assert_allclose(trace["batch_loss"].iloc[:steps], batch_losses, rtol=1e-10)
    measured = trace["loss"].dropna()
    assert measured.index.tolist() == [*MEASURED, steps]
    np.testing.assert_allclose(measured, [full_losses[s] for s in measured.index], rtol=1e-10)
    assert result.fun == measured.iloc[-1] and result.nfev == steps
    np.testing.assert_allclose(trace["best_loss"].iloc[-1], min(full_losses.values()), rtol=1e-10)


def test_a_step_evaluates_its_minibatch_not_the_whole_data():
    sizes = []
    x = np.linspace(-1, 1, 256)

    def loss(p, batch=None):
        xb, yb = (jnp.asarray(x), jnp.asarray(3 * x)) if batch is None else batch
        jax.debug.callback(lambda n: sizes.append(int(n)), xb.shape[0])
        return jnp.mean((p[0] * xb - yb) ** 2)

    problem = optbench.Problem("counted_line", loss, init=jnp.zeros(1), data=(jnp.asarray(x), jnp.asarray(3 * x)))
    result = optbench.minimize(problem, "sgd[batch_size=32]", max_steps=320)  # whole blocks of 16 steps
    assert result.status is Status.MAX_STEPS and result.nfev == 320
    # 320 minibatches; the full data at the start, at 5 scheduled points and at the end
    # (each step evaluated the full data too before: 320 more passes).
    assert sizes.count(32) == 320 and sizes.count(256) == 1 + 5 + 1


def test_a_target_is_met_by_the_full_training_loss_not_a_lucky_minibatch():
    spec = "linear[n=1000]"
    free = optbench.minimize(spec, "sgd", seed=1, max_steps=2000)
    lowest_batch, lowest_full = free.trace["batch_loss"].min(), free.trace["loss"].min()
    assert lowest_batch < lowest_full  # some minibatches look better than the model is
    between = (lowest_batch + lowest_full) / 2
    assert optbench.minimize(spec, "sgd", seed=1, max_steps=2000, target=between).status is Status.MAX_STEPS
    reached = optbench.minimize(spec, "sgd", seed=1, max_steps=2000, target=lowest_full * 1.0001)
    assert reached.status is Status.TARGET_REACHED and reached.fun <= lowest_full * 1.0001
    assert reached.trace["loss"].iloc[-1] == reached.fun
