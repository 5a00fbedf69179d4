"""The shared compiled loop that drives every native solver, from the host's side.

A run (a seed and float hyperparameters) runs as the compiled programs of
``optbench.drive.programs``, chunk by chunk; between chunks the host checks the wall-time
budget and whether the run has stopped. Compiled programs are cached per (problem,
solver configuration, chunk length), so a repeated call, another seed or another
learning rate does not compile again.

Every run is a program execution of its own, never a member of a ``vmap``-ed batch:
under ``vmap`` the arithmetic changes (batched kernels round differently) and a
``lax.cond`` computes both branches, so a seed's numbers would depend on which runs
shared its batch. Batching 64 seeds of adam was 1.9x faster on a 2-core CPU; identical
numbers for the same run, whatever ran beside it, are worth more (see issue 11).
"""

from __future__ import annotations

import math
import time
from typing import Any, NamedTuple

import jax
import numpy as np

from optbench.budget import Budget
from optbench.caches.program_cache import CompileCost, ProgramCache, combined
from optbench.drive import programs
from optbench.drive.programs import (
    BLOCK,
    CODES,
    Build,
    Limits,
    Programs,
    block_length,
    compile_keys,
    compile_programs,
    compile_start,
)
from optbench.drive.trace import StreamedTrace, native_result
from optbench.problem import Problem
from optbench.result import Result, Status

MAX_CHUNK = 4992  # a whole number of blocks: no separately compiled remainder
TIMED_CHUNK = 96

_INT_MAX = np.iinfo(np.int32).max


_PROGRAMS = ProgramCache(64)


class Arguments(NamedTuple):
    """A run's arguments to its programs: the starting point and the solver's key, each
    with a run axis of length one (or only their shapes, for compiling), the float
    hyperparameters (each of shape (1,)) and the budget's limits."""

    params: Any
    run_key: Any
    hyper: dict[str, Any]
    limits: Limits


def clear_programs() -> None:
    """Forget every compiled program held in memory (the persistent cache is untouched)."""
    _PROGRAMS.clear()
    programs.clear()


def chunk_length(budget: Budget) -> int:
    """Steps per compiled chunk: the step budget split evenly, shorter under a time budget,
    rounded up to whole blocks (the step limit on the device stops a run on its step);
    a budget of fewer steps than a block is one chunk of one block.
    Whole blocks keep one copy of the step in the chunk program: a remainder scan was a
    second copy, and compiling it cost 15-25% of the chunk's compile time."""
    cap = TIMED_CHUNK if budget.max_time is not None else MAX_CHUNK
    if budget.max_steps is None:
        return cap
    n_chunks = math.ceil(budget.max_steps / cap)
    steps = math.ceil(budget.max_steps / n_chunks)
    return steps if steps < BLOCK else BLOCK * math.ceil(steps / BLOCK)


def run_native(
    problem: Problem,
    build: Build,
    solver_key: Any,
    hyper: dict[str, float],
    seed: int,
    budget: Budget,
    target: float | None = None,
) -> Result:
    """Run one native solver run through the compiled programs of its shape.

    ``build(hyper)`` makes the solver from a dict of (possibly traced) float
    hyperparameters; ``solver_key`` identifies everything else about it for the cache.
    ``target`` is the loss at which evaluations and time to target are measured (the
    budget's target stops the run; this one only measures).
    """
    # On the calling thread. Running two programs on two threads was 1.6x faster for
    # first-order methods, but XLA's CPU runtime deadlocked with two concurrent executions
    # of the Levenberg-Marquardt program; see the note on issue 3 before trying again.
    # (Compiling on other threads meanwhile is safe: ``precompile``.)
    solver = build(hyper)
    per_eval = solver.epochs_per_evaluation(problem)
    short = _budget_short(problem, solver, budget, per_eval)
    if short is not None:
        return Result.failed(Status.SKIPPED, short)
    arguments, costs = _arguments(problem, budget, seed, hyper, per_eval)
    programs, cost = _PROGRAMS.get(*_program_key(problem, build, solver_key, budget, arguments))
    compile_s, cache_hit = combined([*costs, cost])
    measure = budget.target if target is None else target
    return _execute(
        programs, problem, budget, arguments, measure, per_eval, solver.full_loss_each_step,
        compile_s=compile_s, cache_hit=cache_hit,
    )  # fmt: skip


def precompile(problem: Problem, build: Build, solver_key: Any, hyper: dict[str, float], budget: Budget) -> None:
    """Compile the programs that runs of this shape use, executing nothing: safe on a
    background thread while another run executes."""
    per_eval = build(hyper).epochs_per_evaluation(problem)
    arguments, _ = _arguments(problem, budget, None, hyper, per_eval)
    _PROGRAMS.prefetch(*_program_key(problem, build, solver_key, budget, arguments))


def _epoch_evals(budget: Budget, per_eval: float) -> int:
    """The epoch budget as a number of evaluations, each ``per_eval`` of an epoch."""
    if budget.max_epochs is None:
        return _INT_MAX
    return min(_INT_MAX, math.ceil(budget.max_epochs / per_eval - 1e-9))


def _budget_short(problem: Problem, solver: Any, budget: Budget, per_eval: float) -> str | None:
    """Why the budget cannot cover the run's start and first step, or None where it can."""
    allowed = min(budget.max_evals or _INT_MAX, _epoch_evals(budget, per_eval))
    first = solver.init_evals(problem) + solver.max_step_evals(problem)
    if first <= allowed:
        return None
    return (
        f"the budget allows {allowed:,} evaluations, and this method's start and first step on "
        f"{problem.name} may make {first:,}"
    )


def _arguments(
    problem: Problem, budget: Budget, seed: int | None, hyper: dict[str, float], per_eval: float
) -> tuple[Arguments, list[CompileCost | None]]:
    """The programs' arguments for ``seed`` (only the shapes of its start and key where it
    is None), and what compiling the programs that made those two cost (see ``_start``)."""
    dtype = np.dtype(problem.dtype)
    hyper = {k: np.asarray([v], dtype) for k, v in hyper.items()}
    limits = Limits(
        np.int32(budget.max_steps or _INT_MAX),
        np.int32(budget.max_evals or _INT_MAX),
        dtype.type(-np.inf if budget.target is None else budget.target),
        np.int32(_epoch_evals(budget, per_eval)),
    )
    params, run_key, costs = _start(problem, seed)
    return Arguments(params, run_key, hyper, limits), costs


def _start(problem: Problem, seed: int | None) -> tuple[Any, Any, list[CompileCost | None]]:
    """The seed's starting point and solver key, from the shared programs of
    ``optbench.drive.programs``, and what compiling those cost this run; where ``seed`` is None,
    only their shapes, executing nothing and leaving the cost to the first run."""

    def program(key: Any, make: Any) -> tuple[Any, CompileCost | None]:
        return (_PROGRAMS.prefetch(key, make), None) if seed is None else _PROGRAMS.get(key, make)

    (keys, keys_cost), start_cost = program(("keys",), compile_keys), None
    init_key, run_key = keys.out_info if seed is None else keys(np.asarray([seed], np.uint32))
    if callable(problem.init):
        key = (problem.program_identity, "start", init_key.shape)  # how starts are drawn: shared with the key
        start, start_cost = program(key, lambda: compile_start(problem, init_key))
        params = start.out_info if seed is None else start(init_key)
    else:
        params = jax.tree_util.tree_map(lambda a: np.asarray(a, problem.dtype)[None], problem.init)
    return params, run_key, [keys_cost, start_cost]


def _program_key(problem: Problem, build: Build, solver_key: Any, budget: Budget, arguments: Arguments):
    """The key of a run's compiled programs in memory, and how to make them."""
    length = chunk_length(budget)
    a = arguments

    def make() -> Programs:
        return compile_programs(problem, build, length, a.params, a.run_key, a.hyper, problem.data, a.limits)

    return (problem.program_identity, solver_key, length, tuple(sorted(a.hyper))), make


def _execute(
    programs: Programs,
    problem: Problem,
    budget: Budget,
    arguments: Arguments,
    target,
    per_eval: float,
    full: bool = True,
    *,
    compile_s: float,
    cache_hit: bool | None,
) -> Result:
    """Run chunk by chunk, checking the time budget between chunks; the trace is thinned
    as each chunk arrives, so memory does not grow with the number of steps; ``compile_s``
    and ``cache_hit`` say what compiling its programs cost. For a minibatch method (not
    ``full``), see ``_minibatch_columns``."""
    hyper, limits = arguments.hyper, arguments.limits
    data, length = problem.data, chunk_length(budget)
    block = block_length(length)
    trace = StreamedTrace(problem.f_opt, target, per_eval)
    started = time.perf_counter()
    carry = programs.init(arguments.params, arguments.run_key, hyper, data)
    full_losses = {} if full else {0: float(np.asarray(carry.start_loss)[0])}  # by trace row
    chunk_start, first_step, timed_out = 0.0, 0, False
    while True:
        out = programs.chunk(carry, hyper, data, limits, np.int32(first_step // block))
        carry, (records, metrics) = out.carry, jax.device_get((out.records, out.metrics))
        taken = int(out.steps)
        elapsed = time.perf_counter() - started
        # Times inside a chunk are interpolated between its measured start and end.
        times = chunk_start + (elapsed - chunk_start) * (np.arange(taken) + 1) / max(taken, 1)
        rows = records.running[:taken, 0]
        columns = {name: getattr(records, name)[:taken, 0] for name in ("loss", "nfev", "njev")}
        columns["time_s"] = times
        columns.update({k: v[:taken, 0] for k, v in records.indicators.items()})
        taken_metrics = _metrics_taken(first_step, block, metrics)
        if not full:
            _minibatch_columns(columns, taken_metrics, full_losses, first_step)
        trace.add({k: v[rows] for k, v in columns.items()}, taken_metrics)
        first_step += length  # every chunk before the next one ran in full
        chunk_start = elapsed
        if (np.asarray(carry.code) != 0).all():
            break
        if budget.max_time is not None and elapsed >= budget.max_time:
            timed_out = True
            break
    final = jax.device_get(programs.final(carry.state, hyper, data))
    total = time.perf_counter() - started
    code = int(np.asarray(carry.code)[0])
    status = CODES.get(code, Status.MAX_TIME if timed_out else Status.MAX_STEPS)
    return native_result(
        trace,
        status=status,
        # A minibatch method meets a target at the end of a block, after its last step.
        final_row=None if full or status is not Status.TARGET_REACHED else True,
        final_loss=float(np.asarray(final.loss)[0]),
        final_metrics={k: float(np.asarray(v)[0]) for k, v in final.metrics.items()},
        final_indicators={k: float(np.asarray(v)[0]) for k, v in final.indicators.items()},
        front=None if final.front is None else tuple(np.asarray(a)[0] for a in final.front),
        params=jax.tree_util.tree_map(lambda a: np.asarray(a[0]), final.params),
        total_time=total,
        compile_s=compile_s,
        cache_hit=cache_hit,
        counts=(int(np.asarray(carry.nfev)[0]), int(np.asarray(carry.njev)[0])),
    )


def _minibatch_columns(columns: dict, taken_metrics: dict, full_losses: dict, first_step: int) -> None:
    """A minibatch method's trace: ``batch_loss``, the loss of the minibatch each step
    drew, and ``loss``, the full training loss where the harness measured it (at the start,
    on the metrics' schedule and at the end; NaN between). A measurement taken at the end
    of a chunk belongs to the next chunk's first row, so it waits in ``full_losses``."""
    columns["batch_loss"] = columns["loss"]
    columns["loss"] = np.full(len(columns["batch_loss"]), np.nan)
    for row, values in taken_metrics.items():
        if "loss" in values:
            full_losses[row] = values.pop("loss")
    for row in [row for row in full_losses if row < first_step + len(columns["loss"])]:
        columns["loss"][row - first_step] = full_losses.pop(row)


def _metrics_taken(first_step: int, block: int, metrics: dict[str, np.ndarray]) -> dict[int, dict[str, float]]:
    """The problem's metrics taken during a chunk, by the trace row they belong to: those
    taken at the end of the chunk's block i belong to row (step) ``first_step + (i + 1) * block``."""
    if not metrics:
        return {}
    values = {name: np.asarray(v)[:, 0] for name, v in metrics.items()}
    taken = np.flatnonzero(~np.isnan(next(iter(values.values()))))
    return {int(first_step + (i + 1) * block): {name: float(v[i]) for name, v in values.items()} for i in taken}
