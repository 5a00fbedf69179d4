"""The shared compiled loop that drives every native solver, from the host's side.

Runs that share their programs (a seed and float hyperparameters apart) run as lanes of
one execution of the compiled programs of ``optbench.drive.programs``, chunk by chunk;
between chunks the host checks the wall-time budget and whether every lane has stopped.
Compiled programs are cached per (problem, solver configuration, chunk length, lane
width), so a repeated call, another seed or another learning rate does not compile again.

A lane's numbers do not depend on what the other lanes hold or on which lane it sits in
(a stopped lane's state and counters are frozen while the others go on), but they may
depend on the number of lanes: under ``vmap`` batched kernels may round differently. So
the width is fixed per program (``lane_width``), never by how many runs there are: a
lone run is padded to the width, and has the numbers it has in a suite.
"""

from __future__ import annotations

import math
import time
import weakref
from typing import Any, NamedTuple

import jax
import numpy as np

from optbench.budget import Budget
from optbench.caches.program_cache import ProgramCache, combined
from optbench.drive import programs
from optbench.drive.programs import (
    BLOCK,
    CODES,
    Build,
    Limits,
    Programs,
    block_length,
    compile_programs,
    fixed_start,
)
from optbench.drive.trace import StreamedTrace, native_result
from optbench.problem import Problem
from optbench.result import Result, Status

MAX_CHUNK = 4992  # a whole number of blocks: no separately compiled remainder
TIMED_CHUNK = 96

_INT_MAX = np.iinfo(np.int32).max

# Lanes per execution (see ``lane_width``). On this project's 2-core CPU, 4 lanes against
# a run alone (compile apart, best of 3, +-25% between repeats): a lone run padded to 4
# lanes took 0.76-2.0x its time alone (adam on sinusoidal, linear[n=200], linear[n=1000],
# quadratic[n=500] and xor; lm on misra1a; bfgs on Rosenbrock), a full batch 0.32-0.56x
# per run; 8 lanes saved little more (0.29-0.45x)
# for twice the padding (1.0-3.2x). Population and minibatch methods gained little
# (ga with 100 individuals 0.79x per run, sgd on logistic_2d 0.82x) for a lone run at
# 2.35x and 2.86x: on a CPU they run alone. On a GPU a lane costs almost nothing.
#
# What decides on a CPU is a step's own work: where one evaluation of the loss is large
# enough to fill the vector units, a lane axis adds nothing and a lone run pays for its
# padding. Measured at 0.6.0 with 4 seeds, 4 lanes against 1 (a lone run padded, in
# brackets), against the loss's cost by XLA's cost analysis (flops, a transcendental
# counted as 20): adam on linear[n=300, 1000, 3000] (1.5k-15k) 0.52-0.59x (1.2-1.9x),
# quadratic 0.65x, sinusoidal[n=100] (2.5k) 0.77x, lm on misra1a and thurber 0.46-0.70x;
# but linear[n=5000] (25k) 0.88x (2.9x), linear[n=10000] (50k) 0.96-1.81x (5.9x),
# sinusoidal[n=1000] (25k) 0.94x (3.7x), sinusoidal[n=5000] 1.46x (5.8x), and near even
# for five seeds on logistic (47k: 0.70x, 2.5x) and xor and circles (40k: 0.68-0.73x,
# 2.1-2.2x): five seeds are a full batch and a padded one. (The rule before, parameters x
# data numbers past 2^20, gave all of these 4 lanes.)
LANES_ON_CPU = 4
LANES_ON_GPU = 64
LANE_WORK_LIMIT = 20_000  # flops of one loss evaluation past which a run executes alone on a CPU
TRANSCENDENTAL_FLOPS = 20


_PROGRAMS = ProgramCache(64)
_LANE_FACTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # by problem
_LANE_FACTS_BY_KEY: dict[Any, tuple[bool, float]] = {}  # by a program_key that problems share


class Arguments(NamedTuple):
    """A batch's arguments to its programs, each with a lane axis first but the limits: the
    seeds, a fixed starting point (``programs.fixed_start``), the float hyperparameters
    (each of shape (width,)) and the budget's limits."""

    seeds: Any
    start: Any
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


class Lane(NamedTuple):
    """One run of a batch: its float hyperparameters, its seed, and the loss at which its
    evaluations and time to target are measured (None: the budget's target)."""

    hyper: dict[str, float]
    seed: int
    target: float | None = None


def lane_width(problem: Problem, solver: Any) -> int:
    """How many runs share one execution of a program, as lanes of a ``vmap``: a property
    of the program (the device, the problem, the solver), never of how many runs there are,
    so that a run has the same numbers alone as in a suite. One where lanes cannot keep a
    run's own numbers or do not pay: a black box, or any problem that calls back to Python
    (``calls_back``), a solver that says so (``NativeSolver.lanes``), and on a CPU, problems whose
    loss costs more than ``LANE_WORK_LIMIT`` flops an evaluation (``evaluation_flops``) and
    population and minibatch methods (measured: see ``LANES_ON_CPU``)."""
    if problem.black_box is not None or not getattr(solver, "lanes", True) or calls_back(problem):
        return 1
    if jax.default_backend() == "gpu":
        return LANES_ON_GPU
    if evaluation_flops(problem) > LANE_WORK_LIMIT:
        return 1
    if getattr(solver, "searches_box", False) or not solver.full_loss_each_step:
        return 1  # a population, or a minibatch, already fills the CPU's vector units
    return LANES_ON_CPU


def calls_back(problem: Problem) -> bool:
    """Whether the problem's functions call back to Python (``jax.debug.callback``,
    ``pure_callback``): under ``vmap`` a callback runs for every lane and for both branches
    of every ``cond``, so such a problem's runs execute alone, every call a real one."""
    return _lane_facts(problem)[0]


def evaluation_flops(problem: Problem) -> float:
    """What one evaluation of the problem's loss (else its residuals or objectives) at one
    point costs by XLA's cost analysis of its program: flops, each transcendental function
    counted as ``TRANSCENDENTAL_FLOPS`` (a sine over 1,000 points fills a CPU's vector units
    as 20,000 multiply-adds do). A static count: the same for every run of the problem."""
    return _lane_facts(problem)[1]


def _lane_facts(problem: Problem) -> tuple[bool, float]:
    """Whether the problem's functions call back to Python, and ``evaluation_flops``: both
    read from one lowering of each function, once per problem, or once for the problems
    that share a ``program_key`` (their functions and shapes are one: NIST's two starts)."""
    identity = problem.program_identity
    facts = _LANE_FACTS if identity is problem else _LANE_FACTS_BY_KEY
    known = facts.get(identity)
    if known is None:
        shapes = jax.eval_shape(problem.init_params, jax.random.PRNGKey(0))
        functions = [
            *([lambda p: problem.value(p, problem.data)] if problem.loss is not None else []),
            *([lambda p: problem.residuals(p, problem.data)] if problem.residuals is not None else []),
            *([problem.objectives] if problem.objectives is not None else []),
        ]
        lowered = [jax.jit(function).lower(shapes) for function in functions]
        calls = any("callback" in low.as_text(debug_info=False) for low in lowered)
        cost = (lowered[0].cost_analysis() or {}) if lowered else {}
        if isinstance(cost, list):  # older jax: one dict per computation
            cost = cost[0] if cost else {}
        # A call back to Python is not counted (XLA says -1): such a problem runs alone anyway.
        flops = max(0.0, float(cost.get("flops", 0.0))) + TRANSCENDENTAL_FLOPS * max(
            0.0, float(cost.get("transcendentals", 0.0))
        )
        known = facts[identity] = (calls, flops)
    return known


def run_lanes(problem: Problem, build: Build, solver_key: Any, runs: list[Lane], budget: Budget) -> list[Result]:
    """Native runs that share their programs (they differ only in seed and float
    hyperparameters), ``lane_width`` at a time as lanes of one execution; the last batch is
    padded with copies of its first run, whose results are dropped.

    ``build(hyper)`` makes the solver from a dict of (possibly traced) float
    hyperparameters; ``solver_key`` identifies everything else about it for the cache.
    A lane's ``target`` is the loss at which evaluations and time to target are measured
    (the budget's target stops the run; this one only measures).
    """
    # On the calling thread. Running two programs on two threads was 1.6x faster for
    # first-order methods, but XLA's CPU runtime deadlocked with two concurrent executions
    # of the Levenberg-Marquardt program; see the note on issue 3 before trying again.
    # (Compiling on other threads meanwhile is safe: ``precompile``.)
    solver = build(runs[0].hyper)
    per_eval = solver.epochs_per_evaluation(problem)
    short = _budget_short(problem, solver, budget, per_eval)
    if short is not None:
        return [Result.failed(Status.SKIPPED, short) for _ in runs]
    width = lane_width(problem, solver)
    results: list[Result] = []
    for first in range(0, len(runs), width):
        batch = runs[first : first + width]
        arguments = _arguments(problem, budget, batch, width, per_eval)
        programs, cost = _PROGRAMS.get(*_program_key(problem, build, solver_key, budget, arguments))
        compile_s, cache_hit = combined([cost])
        measures = [budget.target if lane.target is None else lane.target for lane in batch]
        results += _execute(
            programs, problem, budget, arguments, measures, per_eval, solver.full_loss_each_step,
            compile_s=compile_s, cache_hit=cache_hit,
        )  # fmt: skip
    return results


def precompile(problem: Problem, build: Build, solver_key: Any, hyper: dict[str, float], budget: Budget) -> None:
    """Compile the programs that runs of this shape use, executing nothing: safe on a
    background thread while another run executes."""
    solver = build(hyper)
    per_eval = solver.epochs_per_evaluation(problem)
    arguments = _arguments(problem, budget, [Lane(hyper, 0)], lane_width(problem, solver), per_eval)
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


def _arguments(problem: Problem, budget: Budget, batch: list[Lane], width: int, per_eval: float) -> Arguments:
    """The programs' arguments for a batch of runs, padded to ``width`` lanes with copies of
    its first run."""
    dtype = np.dtype(problem.dtype)
    padded = batch + [batch[0]] * (width - len(batch))
    hyper = {k: np.asarray([lane.hyper[k] for lane in padded], dtype) for k in batch[0].hyper}
    limits = Limits(
        np.int32(budget.max_steps or _INT_MAX),
        np.int32(budget.max_evals or _INT_MAX),
        dtype.type(-np.inf if budget.target is None else budget.target),
        np.int32(_epoch_evals(budget, per_eval)),
    )
    seeds = np.asarray([lane.seed for lane in padded], np.uint32)
    return Arguments(seeds, fixed_start(problem, width), hyper, limits)


def _program_key(problem: Problem, build: Build, solver_key: Any, budget: Budget, arguments: Arguments):
    """The key of a run's compiled programs in memory, and how to make them."""
    length = chunk_length(budget)
    a = arguments

    def make() -> Programs:
        return compile_programs(problem, build, length, a.seeds, a.start, a.hyper, problem.data, a.limits)

    width = a.seeds.shape[0]
    return (problem.program_identity, solver_key, length, tuple(sorted(a.hyper)), width), make


def _execute(
    programs: Programs,
    problem: Problem,
    budget: Budget,
    arguments: Arguments,
    targets: list[float | None],
    per_eval: float,
    full: bool = True,
    *,
    compile_s: float,
    cache_hit: bool | None,
) -> list[Result]:
    """Run a batch chunk by chunk, checking the time budget between chunks, until its last
    lane stops; each lane's trace is thinned as each chunk arrives, so memory does not grow
    with the number of steps. ``targets`` holds one measuring target per run: lanes past
    them are padding. A lane's time is its share of the batch's (``lane_shares``: each
    step's time divided among the runs still running at it), and the time budget holds for
    that share. The
    first run's ``compile_s`` and ``cache_hit`` say what compiling the programs cost, the
    others reused them. For a minibatch method (not ``full``), see ``_minibatch_columns``."""
    hyper, limits = arguments.hyper, arguments.limits
    data, length = problem.data, chunk_length(budget)
    block, n = block_length(length), len(targets)
    traces = [StreamedTrace(problem.f_opt, target, per_eval) for target in targets]
    started = time.perf_counter()
    shares, chunk_began = np.zeros(n), started  # each run's time so far
    carry = programs.init(arguments.seeds, arguments.start, hyper, data)
    full_losses: list[dict[int, float]] = [{} for _ in range(n)]  # by trace row
    if not full:  # read only here: reading waits for the init program, before the first chunk is sent
        full_losses = [{0: float(loss)} for loss in np.asarray(carry.start_loss)[:n]]
    first_step, timed_out = 0, False
    while True:
        out = programs.chunk(carry, hyper, data, limits, np.int32(first_step // block))
        # One transfer for everything the host reads of a chunk (each array's own cost 20-40 us).
        carry, (records, metrics, taken, codes) = (
            out.carry,
            jax.device_get((out.records, out.metrics, out.steps, out.carry.code)),
        )
        taken, now = int(taken), time.perf_counter()
        running = records.running[:taken, :n]  # a chunk is sent only while a run runs: one block at least
        # Times inside a chunk are interpolated between its measured start and end.
        times = shares + np.cumsum(lane_shares(running, now - chunk_began), axis=0)
        shares, chunk_began = times[-1], now
        for lane, trace in enumerate(traces):
            rows = running[:, lane]
            columns = {name: getattr(records, name)[:taken, lane] for name in ("loss", "nfev", "njev")}
            columns["time_s"] = times[:, lane]
            columns.update({k: v[:taken, lane] for k, v in records.indicators.items()})
            taken_metrics = _metrics_taken(first_step, block, metrics, lane)
            if not full:
                _minibatch_columns(columns, taken_metrics, full_losses[lane], first_step)
            trace.add({k: v[rows] for k, v in columns.items()}, taken_metrics)
        first_step += length  # every chunk before the next one ran in full
        if (codes[:n] != 0).all():
            break
        # The runs still running have run at every step so far: their shares are equal.
        if budget.max_time is not None and shares[codes[:n] == 0].max() >= budget.max_time:
            timed_out = True
            break
    final, (codes, nfev, njev) = jax.device_get(
        (programs.final(carry.state, hyper, data), (carry.code, carry.nfev, carry.njev))
    )
    wall = time.perf_counter() - started
    shares += (wall - (chunk_began - started)) / n  # the final program's time, which every lane shares
    results = []
    for lane, trace in enumerate(traces):
        status = CODES.get(int(codes[lane]), Status.MAX_TIME if timed_out else Status.MAX_STEPS)
        results.append(native_result(
            trace,
            status=status,
            # A minibatch method meets a target at the end of a block, after its last step.
            final_row=None if full or status is not Status.TARGET_REACHED else True,
            final_loss=float(np.asarray(final.loss)[lane]),
            final_metrics={k: float(np.asarray(v)[lane]) for k, v in final.metrics.items()},
            final_indicators={k: float(np.asarray(v)[lane]) for k, v in final.indicators.items()},
            front=None if final.front is None else tuple(np.asarray(a)[lane] for a in final.front),
            params=jax.tree_util.tree_map(lambda a, i=lane: np.asarray(a[i]), final.params),
            total_time=float(shares[lane]),
            compile_s=compile_s if lane == 0 else 0.0,
            cache_hit=cache_hit if lane == 0 else None,
            counts=(int(nfev[lane]), int(njev[lane])),
            lanes=len(codes),
            batch_time=wall,
        ))  # fmt: skip
    return results


def lane_shares(running: np.ndarray, seconds: float) -> np.ndarray:
    """Each run's share of a chunk's wall time, step by step, (steps, runs): the time is
    spread evenly over the chunk's steps, and a step's time is divided among the runs
    running at it, so a run that stops early is not charged for the steps of a run that
    goes on. The masked steps after the last run stopped (the rest of its block) go to the
    runs that were running last. The shares add up to ``seconds``. A chunk's first step
    has a run running (the host sends a chunk only then)."""
    per_step = seconds / len(running)
    counts = running.sum(axis=1, keepdims=True)
    shares = np.where(running, per_step / np.maximum(counts, 1), 0.0)
    busy = np.flatnonzero(counts[:, 0])
    last = running[busy[-1]]
    shares[-1] += per_step * (len(running) - len(busy)) * last / last.sum()
    return shares


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


def _metrics_taken(
    first_step: int, block: int, metrics: dict[str, np.ndarray], lane: int
) -> dict[int, dict[str, float]]:
    """The problem's metrics taken during a chunk, by the trace row they belong to: those
    taken at the end of the chunk's block i belong to row (step) ``first_step + (i + 1) * block``."""
    if not metrics:
        return {}
    values = {name: np.asarray(v)[:, lane] for name, v in metrics.items()}
    taken = np.flatnonzero(~np.isnan(next(iter(values.values()))))
    return {int(first_step + (i + 1) * block): {name: float(v[i]) for name, v in values.items()} for i in taken}
