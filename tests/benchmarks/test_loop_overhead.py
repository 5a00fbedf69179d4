"""optbench's compiled loop against a bare jitted ``lax.scan`` over the same optax update."""

import jax
import jax.numpy as jnp
import optax
from timing import best_time, report

import optbench
from optbench.registry import REGISTRY

STEPS = 20_000


def bare_loop(problem, learning_rate=0.01, lanes=None):
    """A jitted scan of adam's update, or with ``lanes``, a vmap of it over that many seeds."""
    tx = optax.adam(learning_rate)

    def solve(key, data):
        params = problem.init_params(jax.random.split(key)[0])

        def step(carry, _):
            params, state = carry
            loss, grads = jax.value_and_grad(problem.value)(params, data)
            updates, state = tx.update(grads, state, params)
            return (optax.apply_updates(params, updates), state), loss

        (params, _), losses = jax.lax.scan(step, (params, tx.init(params)), None, length=STEPS)
        return params, losses

    if lanes is None:
        solve = jax.jit(solve)
        return lambda: jax.block_until_ready(solve(jax.random.PRNGKey(0), problem.data))
    keys = jax.random.split(jax.random.PRNGKey(0), lanes)
    batched = jax.jit(jax.vmap(solve, in_axes=(0, None)))
    return lambda: jax.block_until_ready(batched(keys, problem.data))


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
    # A lone run executes in its program's lanes (padded: ``optbench.drive.loop.lane_width``),
    # so it is beside one bare scan (what a lone run costs) and beside a bare vmap over as
    # many lanes (what the loop itself costs).
    lanes = again.lanes
    same_lanes = bare_loop(problem, lanes=lanes)
    same_lanes()  # compile
    mine = best_time(ours)
    report(
        benchmark, "lone run, adam 20k steps, linear[n=1000], vs one bare scan", mine, best_time(reference), "<= 1.25"
    )
    report(
        benchmark, f"the loop in {lanes} lanes vs a bare vmap of {lanes} scans", mine, best_time(same_lanes), "<= 1.25"
    )
