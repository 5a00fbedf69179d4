"""64 seeds of adam through optbench's loop, as lanes of a fixed width (4 on a CPU; a lane's
numbers do not depend on its companions), against the bare references: one ``vmap`` of a
jitted ``lax.scan`` of the same optax update over the 64 seeds (issue 26's goal: <= 1.2x),
and the same scan called once per seed."""

import jax
import optax
from timing import best_time, report

from optbench.budget import Budget
from optbench.drive.run_one import run_group
from optbench.drive.run_spec import RunSpec
from optbench.optimizer_config import optimizer_configs
from optbench.registry import REGISTRY

SEEDS = 64
STEPS = 2000


def _bare(problem, batched: bool):
    tx = optax.adam(0.01)

    def solve(seed):
        params = problem.init_params(jax.random.split(jax.random.PRNGKey(seed))[0])

        def step(carry, _):
            params, state = carry
            loss, grads = jax.value_and_grad(problem.value)(params, problem.data)
            updates, state = tx.update(grads, state, params)
            return (optax.apply_updates(params, updates), state), loss

        return jax.lax.scan(step, (params, tx.init(params)), None, length=STEPS)

    if batched:
        solve_all = jax.jit(jax.vmap(solve))
        return lambda: jax.block_until_ready(solve_all(jax.numpy.arange(SEEDS)))
    solve_one = jax.jit(solve)
    return lambda: [jax.block_until_ready(solve_one(seed)) for seed in range(SEEDS)]


def test_seeds_in_lanes_against_a_bare_vmap_and_a_bare_scan_per_seed(benchmark):
    problem = REGISTRY.problem("sinusoidal[n=100]")
    config = optimizer_configs("adam[learning_rate=0.01]")[0]
    runs = [RunSpec(problem.spec, config, seed, Budget(max_steps=STEPS)) for seed in range(SEEDS)]
    ours = lambda: run_group(problem, runs)
    per_seed, vmapped = _bare(problem, batched=False), _bare(problem, batched=True)
    results = ours()
    per_seed(), vmapped()  # compile
    assert all(r.status.value == "max_steps" and r.nit == STEPS for r in results)
    benchmark.pedantic(ours, rounds=3, iterations=1)
    mine = best_time(ours, 3)
    name = f"{SEEDS} seeds of adam in lanes"
    report(benchmark, f"{name} vs one vmap-ed bare scan", mine, best_time(vmapped, 3), "<= 1.2")
    report(benchmark, f"{name} vs a bare scan per seed", mine, best_time(per_seed, 3), "<= 1.5")
