"""The plan of a comparison: problems x optimizer configurations x seeds under one budget,
as runs with stable ids, checked before any work; and which of them a store still lacks."""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from typing import Any, NamedTuple

from optbench.budget import MAX_RUNS, MAX_SEED, Budget
from optbench.drive.run_spec import RunSpec, run_ids
from optbench.errors import OptbenchError
from optbench.optimizer_config import OptimizerConfig, optimizer_configs
from optbench.problem import Problem
from optbench.registry import REGISTRY
from optbench.spec import parse_spec


def plan(
    problems: Iterable[str],
    optimizers: Iterable[str],
    seeds: int | Iterable[int],
    budget: Budget,
    suite: str = "",
) -> list[RunSpec]:
    """Every run of a suite, problems and optimizer grids expanded; duplicates removed.

    Everything is checked here, before any run: seeds, the size of the plan (at most
    ``MAX_RUNS`` runs), and every optimizer configuration, built once, so values its
    factory rejects with ``SpecError`` (``sgd[batch_size=0]``) are an error now rather
    than failed runs.
    """
    seed_list = _seeds(seeds)
    specs = [point for spec in problems for point in parse_spec(spec).expand()]
    configs = [config for spec in optimizers for config in optimizer_configs(spec)]
    total = len(specs) * len(configs) * len(seed_list)
    if total > MAX_RUNS:
        raise OptbenchError(
            f"this plan has {total:,} runs ({len(specs):,} problems x {len(configs):,} optimizer configurations x "
            f"{len(seed_list):,} seeds), more than optbench's limit of {MAX_RUNS:,}; split it into smaller suites"
        )
    for config in configs:
        _check_buildable(config)
    built = [REGISTRY.problem(point) for point in specs]
    runs: dict[str, RunSpec] = {}
    for problem in built:
        facts = {
            "f_opt": problem.f_opt,
            "n_params": _n_params(problem),
            "dtype": problem.dtype,
            "target_scale": problem.target_scale,
        }
        for config in configs:
            for seed, run_id in zip(seed_list, run_ids(problem.spec, config, budget, seed_list)):
                if run_id not in runs:
                    run = RunSpec(problem.spec, config, seed, budget, suite, **facts)
                    run.__dict__["run_id"] = run_id  # computed above for all seeds at once
                    runs[run_id] = run
    return list(runs.values())


def _seeds(seeds: int | Iterable[int]) -> list[int]:
    """A number of seeds (0, 1, ..., n-1) or a list of seeds, checked, as Python ints."""
    whole = lambda value: isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if whole(seeds):
        if not 1 <= seeds <= MAX_RUNS:
            raise OptbenchError(f"the number of seeds must be from 1 to {MAX_RUNS:,}, got {seeds:,}")
        return list(range(int(seeds)))
    if not isinstance(seeds, Iterable) or isinstance(seeds, (str, bytes)):
        raise OptbenchError(f"seeds must be a number of seeds or a list of seeds, got {seeds!r}")
    seed_list = list(seeds)
    if not seed_list:
        raise OptbenchError("the list of seeds is empty")
    for seed in seed_list:
        if not whole(seed) or not 0 <= seed <= MAX_SEED:
            raise OptbenchError(f"a seed must be a whole number from 0 to {MAX_SEED:,}, got {seed!r}")
    return [int(seed) for seed in seed_list]


def _check_buildable(config: OptimizerConfig) -> None:
    """Build the configuration's solver once. A factory that rejects its values says so
    with ``SpecError`` (an ``OptbenchError``): that is an error now, before any run. Any
    other exception is a broken optimizer, whose runs fail with it as their result."""
    try:
        config.build(config.floats)
    except OptbenchError as err:
        raise OptbenchError(f"optimizer {config.label!r}: {err}") from None
    except Exception:
        pass


def _n_params(problem: Problem) -> int | None:
    """The problem's parameter count, or None where its starting point raises: then each
    of its runs fails with that error, and the other problems of the suite run."""
    try:
        return problem.n_params
    except Exception:
        return None


class Pending(NamedTuple):
    """The runs still to run, and the ids among them whose stored result a new one replaces."""

    todo: list[RunSpec]
    replaced: set[str]


def pending(runs: list[RunSpec], store: Any, retry_failed: bool = False) -> Pending:
    """The runs the store does not hold yet (and, with ``retry_failed``, those it holds as
    failed, which their new results replace)."""
    stored = store.run_ids()
    failed = store.run_ids("failed") if retry_failed else set()
    return Pending([run for run in runs if run.run_id not in stored or run.run_id in failed], failed)
