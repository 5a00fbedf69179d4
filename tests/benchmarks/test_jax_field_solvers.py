"""optbench's native solvers beside the JAX field's, in the same loop and the same run:
``lm`` against optimistix's LevenbergMarquardt (``optx_lm``) on 12 NIST cases, ``bfgs``
against optimistix's BFGS (``optx_bfgs``) on six CUTEst problems, and ``ga`` and
``evosax_cma_es`` against bare evosax loops (a jitted scan of ask, evaluate, tell) at equal
population and budget. Steady times are the fastest of several fits; compile times are
each run's ``compile_s``, reported apart."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import pytest
from timing import best_time, report

import optbench

NIST = [f"nist_{name}[start={start}]" for name in ["misra1a", "thurber", "mgh09", "eckerle4", "rat43", "boxbod"]
        for start in (1, 2)]  # fmt: skip
CUTEST = ["cutest_rosenbr", "cutest_beale", "cutest_biggs6", "cutest_osborneb", "cutest_chnrosnb", "cutest_genrose"]


def _geomean(values: list[float]) -> float:
    return math.exp(sum(map(math.log, values)) / len(values))


def _pair(benchmark, cases: list[str], ours: str, peer: str, rounds: int, name: str, **budget) -> None:
    steady, compiled = {}, {}
    for case in cases:
        for optimizer in (ours, peer):
            first = optbench.minimize(case, optimizer, **budget)
            steady[case, optimizer] = best_time(lambda c=case, o=optimizer: optbench.minimize(c, o, **budget), rounds)
            compiled[case, optimizer] = first.compile_s
        done = {o: optbench.minimize(case, o, **budget) for o in (ours, peer)}
        print(
            f"\n[{name}] {case}: {ours} {steady[case, ours] * 1e3:.2f} ms ({done[ours].nfev} f, {done[ours].njev} J, "
            f"{done[ours].status.value}), {peer} {steady[case, peer] * 1e3:.2f} ms ({done[peer].nfev} f, "
            f"{done[peer].njev} J, {done[peer].status.value})"
        )
    ratio = _geomean([steady[c, ours] / steady[c, peer] for c in cases])
    # A problem's second start reuses its first's programs (compile_s 0): compared where both compiled.
    compile_ratio = _geomean(
        [compiled[c, ours] / compiled[c, peer] for c in cases if min(compiled[c, ours], compiled[c, peer]) > 0]
    )
    print(f"\n[{name}] geometric mean of {ours}/{peer}: steady {ratio:.2f}, compile {compile_ratio:.2f} (goal <= 1.5)")
    ours_total = sum(steady[c, ours] for c in cases)
    peer_total = sum(steady[c, peer] for c in cases)
    report(benchmark, f"{ours} vs {peer}, {len(cases)} problems, per fit", ours_total, peer_total, "<= 1.5")


def test_native_lm_beside_optimistix_levenberg_marquardt_on_nist(benchmark):
    _pair(benchmark, NIST, "lm", "optx_lm", 20, "lm nist")  # first, so that each run's compile_s is its own
    benchmark.pedantic(lambda: [optbench.minimize(case, "lm") for case in NIST], rounds=1, iterations=1)


def test_native_bfgs_beside_optimistix_bfgs_on_cutest(benchmark):
    pytest.importorskip("sif2jax", reason="the CUTEst problems need sif2jax (optbench[suites])")
    _pair(benchmark, CUTEST, "bfgs", "optx_bfgs", 3, "bfgs cutest", max_steps=2000)
    benchmark.pedantic(lambda: optbench.minimize("cutest_rosenbr", "bfgs"), rounds=1, iterations=1)


def _rastrigin(x):
    return 10.0 * x.shape[-1] + jnp.sum(x**2 - 10.0 * jnp.cos(2 * jnp.pi * x), axis=-1)


def _bare_evosax(name: str, generations: int, pop: int, n: int, **init):
    """evosax's own loop: ask, evaluate the population, tell, as a jitted scan."""
    import evosax.algorithms

    strategy = getattr(evosax.algorithms, name)(population_size=pop, solution=jnp.zeros(n))
    params = strategy.default_params

    @jax.jit
    def solve(key):
        key, start = jax.random.split(key)
        if "mean" in init:
            state = strategy.init(start, init["mean"], params)
        else:
            population = jax.random.uniform(start, (pop, n), minval=-5.0, maxval=5.0)
            state = strategy.init(start, population, _rastrigin(population), params)

        def generation(state, key):
            ask, tell = jax.random.split(key)
            x, state = strategy.ask(ask, state, params)
            state, _ = strategy.tell(tell, x, _rastrigin(x), state, params)
            return state, None

        state, _ = jax.lax.scan(generation, state, jax.random.split(key, generations))
        return state.best_fitness

    return lambda seed: solve(jax.random.PRNGKey(seed)).block_until_ready()


def test_ga_and_evosax_cma_es_beside_bare_evosax_loops(benchmark):
    pytest.importorskip("evosax", reason="needs evosax (optbench[jax-solvers])")
    n, pop, generations, seeds = 10, 100, 100, range(5)

    @optbench.register_problem("bench_rastrigin")
    def bench_rastrigin():
        return optbench.Problem("bench_rastrigin", _rastrigin, init=jnp.full(n, 3.0), search_box=(-5.0, 5.0), f_opt=0.0)

    budget = {"max_evals": pop * (generations + 1)}
    # SimpleGA's operators (truncation, uniform crossover, Gaussian mutation) are cheaper than
    # ga's default SBX and polynomial mutation (Deb's bounded operators: powers per variable);
    # ga with blend crossover and Gaussian mutation is the like-for-like cost.
    for ours, bare_name, bare_init in [
        ("ga[pop_size=100]", "SimpleGA", {}),
        ("ga[pop_size=100,crossover=blend,mutation=gaussian]", "SimpleGA", {}),
        ("evosax_cma_es[pop_size=100]", "CMA_ES", {"mean": jnp.full(n, 3.0)}),
    ]:
        bare = _bare_evosax(bare_name, generations, pop, n, **bare_init)
        bare(0)
        mine = lambda o=ours: [optbench.minimize("bench_rastrigin", o, seed=s, **budget) for s in seeds]
        mine()
        if ours == "ga[pop_size=100]":
            benchmark.pedantic(mine, rounds=1, iterations=1)
        ours_s = best_time(mine, 3) / len(seeds)
        bare_s = best_time(lambda b=bare: [b(s) for s in seeds], 3) / len(seeds)
        report(benchmark, f"{ours} vs bare evosax {bare_name}, rastrigin-10, pop 100, 100 generations, per run",
               ours_s, bare_s, "<= 1.2")  # fmt: skip
    # Where ga's time goes: its own step in a bare jitted scan (no loop, no bookkeeping),
    # so the operators' cost is seen apart from the harness's.
    bare_simple = _bare_evosax("SimpleGA", generations, pop, n)
    bare_simple(0)
    simple_s = best_time(lambda: [bare_simple(s) for s in seeds], 3) / len(seeds)
    for ours in ("ga[pop_size=100]", "ga[pop_size=100,crossover=blend,mutation=gaussian]"):
        steps = _bare_native(ours, "bench_rastrigin", generations)
        steps(0)
        report(benchmark, f"{ours}'s own step in a bare scan vs bare evosax SimpleGA, per run",
               best_time(lambda s=steps: [s(seed) for seed in seeds], 3) / len(seeds), simple_s, "none")  # fmt: skip


def _bare_native(spec: str, problem_name: str, steps: int):
    """A native solver's own init and steps as one jitted scan: what its step costs without
    optbench's loop (budgets, records, stopping) around it."""
    from optbench.drive.run_one import Built
    from optbench.optimizer_config import optimizer_configs
    from optbench.registry import REGISTRY

    problem = REGISTRY.problem(problem_name)
    solver = Built.from_config(optimizer_configs(spec)[0]).solver

    def step(state, _):
        state, info = solver.step(problem, problem.data, state)
        return state, info.loss

    @jax.jit
    def solve(key):
        state = solver.init(problem, problem.data, problem.init, key)
        return jax.lax.scan(step, state, None, length=steps)[1]

    return lambda seed: solve(jax.random.PRNGKey(seed)).block_until_ready()
