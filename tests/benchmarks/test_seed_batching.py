"""64 seeds in one batched program against 64 runs one after another."""

from timing import best_time, report

from optbench.budget import Budget
from optbench.optimizer import optimizer_configs
from optbench.registry import REGISTRY
from optbench.runner import RunSpec, run_group

SEEDS = 64


def test_batched_seeds_against_sequential(benchmark):
    problem = REGISTRY.problem("sinusoidal[n=100]")
    config = optimizer_configs("adam")[0]
    budget = Budget(max_steps=2000)
    runs = [RunSpec(problem.spec, config, seed, budget) for seed in range(SEEDS)]
    batched = lambda: run_group(problem, runs)
    sequential = lambda: [run_group(problem, [run]) for run in runs]
    batched(), sequential()  # compile both shapes
    results = batched()
    assert len({round(r.fun, 12) for r in results}) >= 1 and all(r.status.value == "max_steps" for r in results)
    benchmark.pedantic(batched, rounds=3, iterations=1)
    report(
        benchmark,
        "64 seeds of adam on sinusoidal[n=100], batched vs sequential",
        best_time(batched, 3),
        best_time(sequential, 3),
        "<= 0.25",
    )
