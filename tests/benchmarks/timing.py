"""Helpers for benchmarks that time optbench beside a bare reference in the same run."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_time(fn: Callable[[], object], rounds: int = 5) -> float:
    """The fastest of ``rounds`` calls: the steady state, free of one-off noise."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def report(benchmark, name: str, ours: float, reference: float, goal: str) -> None:
    """Print and record the ratio of optbench's time to the reference's; never assert on it."""
    ratio = ours / reference
    benchmark.extra_info.update({"optbench_s": ours, "reference_s": reference, "ratio": ratio, "goal": goal})
    print(
        f"\n[{name}] optbench {ours * 1e3:.1f} ms, reference {reference * 1e3:.1f} ms, ratio {ratio:.2f} (goal {goal})"
    )
