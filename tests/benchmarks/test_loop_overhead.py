"""optbench's compiled loop against a bare jitted ``lax.scan`` over the same optax update."""

import jax
import jax.numpy as jnp
import optax
from timing import best_time, report

import optbench
from optbench.registry import REGISTRY

STEPS = 20_000


def bare_loop(problem, learning_rate=0.01):
    tx = optax.adam(learning_rate)

    @jax.jit
    def solve(key, data):
        params = problem.init_params(jax.random.split(key)[0])

        def step(carry, _):
            params, state = carry
            loss, grads = jax.value_and_grad(problem.value)(params, data)
            updates, state = tx.update(grads, state, params)
            return (optax.apply_updates(params, updates), state), loss

        (params, _), losses = jax.lax.scan(step, (params, tx.init(params)), None, length=STEPS)
        return params, losses

    return lambda: jax.block_until_ready(solve(jax.random.PRNGKey(0), problem.data))


def test_loop_overhead_against_bare_scan(benchmark):
    problem = REGISTRY.problem("linear[n=1000]")
    reference = bare_loop(problem)
    reference()  # compile
    ours = lambda: optbench.minimize(problem, "adam", max_steps=STEPS)
    first = ours()
    again = ours()
    assert again.compile_s == 0 and first.nit == again.nit == STEPS  # the repeat reuses the program
    assert jnp.isfinite(again.fun)
    benchmark.pedantic(ours, rounds=5, iterations=1)
    report(benchmark, "loop overhead, adam 20k steps, linear[n=1000]", best_time(ours), best_time(reference), "<= 1.5")
