"""Plan runs (problems x optimizer configurations x seeds), run them batched, store each."""

from __future__ import annotations

import contextlib
import hashlib
import json
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from optbench.budget import Budget
from optbench.errors import OptbenchError
from optbench.optimizer import OptimizerConfig, optimizer_configs
from optbench.problem import Problem
from optbench.registry import REGISTRY
from optbench.result import Result, Status
from optbench.solver import HostSolver
from optbench.spec import parse_spec

MAX_BATCH = 64
TARGET_RTOL = 1e-6


@dataclass(frozen=True)
class RunSpec:
    """Everything that defines one run; its id is a hash of it and the optbench version."""

    problem: str
    optimizer: OptimizerConfig
    seed: int
    budget: Budget
    suite: str = ""
    f_opt: float | None = None
    # Facts about the problem, stored with the run; not part of its id.
    n_params: int | None = None
    dtype: str = "float64"

    @property
    def run_id(self) -> str:
        from optbench import __version__

        canonical = {
            "problem": self.problem,
            "optimizer": self.optimizer.name,
            "params": self.optimizer.params,
            "seed": self.seed,
            "budget": self.budget.as_dict(),
            "version": __version__,
        }
        return hashlib.sha256(json.dumps(canonical, sort_keys=True, default=str).encode()).hexdigest()[:16]

    @property
    def target(self) -> float | None:
        return measured_target(self.budget, self.f_opt)


def measured_target(budget: Budget, f_opt: float | None) -> float | None:
    """The loss counted as reached: the budget's target, else within ``TARGET_RTOL`` of
    the known optimum, else none."""
    if budget.target is not None:
        return budget.target
    if f_opt is None:
        return None
    return f_opt + TARGET_RTOL * abs(f_opt) + 1e-12


def plan(
    problems: Iterable[str],
    optimizers: Iterable[str],
    seeds: int | Iterable[int],
    budget: Budget,
    suite: str = "",
) -> list[RunSpec]:
    """Every run of a suite, problems and optimizer grids expanded; duplicates removed."""
    seed_list = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    if not seed_list:
        raise OptbenchError(f"seeds must be a positive number of seeds or a non-empty list, got {seeds!r}")
    built = [REGISTRY.problem(point) for spec in problems for point in parse_spec(spec).expand()]
    configs = [config for spec in optimizers for config in optimizer_configs(spec)]
    runs: dict[str, RunSpec] = {}
    for problem in built:
        facts = {"f_opt": problem.f_opt, "n_params": problem.n_params, "dtype": problem.dtype}
        for config in configs:
            for seed in seed_list:
                run = RunSpec(problem.spec, config, int(seed), budget, suite, **facts)
                runs.setdefault(run.run_id, run)
    return list(runs.values())


def execute(
    runs: list[RunSpec],
    store: Any,
    on_done: Callable[[int], None] = lambda n: None,
) -> list[RunSpec]:
    """Run what the store does not hold yet, batched per compiled program; store each run
    in its own transaction as soon as its batch finishes. Returns the runs it ran."""
    stored = store.run_ids()
    todo = [run for run in runs if run.run_id not in stored]
    groups: dict[tuple[Any, ...], list[RunSpec]] = {}
    for run in todo:
        groups.setdefault((run.problem, run.optimizer.solver_key, run.budget), []).append(run)
    with _interrupts() as interrupted:
        for members in groups.values():
            problem = REGISTRY.problem(members[0].problem)
            for start in range(0, len(members), MAX_BATCH):
                batch = members[start : start + MAX_BATCH]
                results = run_group(problem, batch)
                if interrupted.is_set():  # the results of an interrupted batch are not stored
                    raise KeyboardInterrupt
                for run, result in zip(batch, results):
                    store.add(run, result)
                on_done(len(batch))
    return todo


@contextlib.contextmanager
def _interrupts() -> Iterator[threading.Event]:
    """Note every Ctrl-C (SIGINT) while a suite runs, and raise KeyboardInterrupt as usual.

    The KeyboardInterrupt can be lost on the way (raised inside a finalizer, or turned
    into another exception inside a library, which would store a run as failed); the
    event lets ``execute`` stop at the next batch anyway, storing nothing of that batch.
    """
    interrupted = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield interrupted
        return

    def note(signum: int, frame: Any) -> None:
        interrupted.set()
        raise KeyboardInterrupt

    def quiet(unraisable: Any) -> None:
        # Raised inside a finalizer (JAX's garbage-collection callback), the interrupt is
        # printed with a traceback and dropped; the event stops the suite instead.
        if not isinstance(unraisable.exc_value, KeyboardInterrupt):
            previous_hook(unraisable)

    previous, previous_hook = signal.signal(signal.SIGINT, note), sys.unraisablehook
    sys.unraisablehook = quiet
    try:
        yield interrupted
    finally:
        signal.signal(signal.SIGINT, previous)
        sys.unraisablehook = previous_hook


def _run_host(problem: Problem, run: RunSpec) -> Result:
    """A library solver runs one run at a time, each with its own hyperparameters."""
    from optbench.bridge import run_host
    from optbench.population_bridge import PopulationSolver, run_population

    try:
        solver = run.optimizer.build(run.optimizer.floats)
        if isinstance(solver, PopulationSolver):
            return run_population(problem, solver, run.budget, run.seed, run.target)
        return run_host(problem, solver, run.budget, run.seed, run.target)
    except Exception as err:  # one failing run must not stop the others
        return Result.from_error(err)


def run_group(problem: Problem, batch: list[RunSpec]) -> list[Result]:
    """Results for runs that share a problem, a compiled program and a budget."""
    from optbench.loop import run_batch

    config = batch[0].optimizer
    missing = config.entry.requires - problem.capabilities
    if missing:
        reason = f"{config.name} requires {', '.join(sorted(missing))}, which {problem.name} does not offer"
        return [Result.failed(Status.SKIPPED, reason) for _ in batch]
    limit = config.entry.max_params
    if limit is not None and (size := problem.n_params) > limit:
        reason = f"{config.name} keeps dense state for at most {limit:,} parameters; {problem.name} has {size:,}"
        return [Result.failed(Status.SKIPPED, reason) for _ in batch]
    try:
        solver = config.build(config.floats)  # a factory that rejects its arguments fails here, clearly
        if isinstance(solver, HostSolver):
            return [_run_host(problem, run) for run in batch]
        return run_batch(
            problem,
            config.build,
            config.solver_key,
            [run.optimizer.floats for run in batch],
            [run.seed for run in batch],
            batch[0].budget,
            target=batch[0].target,
        )
    except Exception as err:  # one broken optimizer must not stop the suite
        return [Result.from_error(err) for _ in batch]
