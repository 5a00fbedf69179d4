"""The compiled programs of the shared loop: init, chunk and final, for one run's shape.

The chunk program runs steps in blocks of ``BLOCK`` inside a ``lax.while_loop`` (each
block a ``lax.scan``), applies the budget and stopping tests on the device, records loss
and evaluation counts per step, and takes the problem's metrics on a schedule. A chunk
ends after the first block at whose end no lane is still running. Arguments and results
carry a leading lane axis: the runs of a batch (see ``optbench.drive.loop.lane_width``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from optbench.budget import STOP_ORDER
from optbench.caches.program_cache import ProgramCache
from optbench.problem import Problem
from optbench.result import Status
from optbench.solver import NativeSolver, StepInfo

# XLA options for the programs a run executes once (its keys, start, init and final):
# compiled 1.7x faster without XLA's new fusion emitters and LLVM's optimizations, and
# run once, they lose nothing that matters. The chunk program, which runs every step,
# keeps XLA's defaults (these options made it run up to 2.7x slower).
_ONCE_ON_CPU = {"xla_cpu_use_fusion_emitters": False, "xla_backend_optimization_level": 0}
_BY_MODULE = ProgramCache(192)
BLOCK = 16  # steps between the device's checks whether any run in a batch still runs
EXPLODE_FACTOR = 1e6

# Status codes on the device; 0 means still running.
CODES = {
    1: Status.CONVERGED,
    2: Status.TARGET_REACHED,
    3: Status.DIVERGED,
    4: Status.MAX_STEPS,
    5: Status.MAX_EVALS,
    6: Status.MAX_EPOCHS,
}
_CODE_OF = {status: code for code, status in CODES.items()}


class Carry(NamedTuple):
    """What a run carries from step to step on the device."""

    state: Any
    step: Any
    nfev: Any
    njev: Any
    ceiling: Any  # a loss above this (or NaN) counts as diverged
    code: Any
    start_loss: Any  # the full training loss at the start, measured by the harness


class Limits(NamedTuple):
    """The budget's bounds, as the device tests them."""

    max_steps: Any
    max_evals: Any
    target: Any
    max_epoch_evals: Any  # the epoch budget as evaluations (each is a fixed share of an epoch)


class StepRecord(NamedTuple):
    """What the chunk program records of each step, each (steps, lane, ...): the loss at the
    step's start, the counters at which it was known, whether the run was running, and
    the solver's indicators of the state at the step's start."""

    loss: Any
    nfev: Any
    njev: Any
    running: Any
    indicators: Any


class ChunkOutput(NamedTuple):
    """What a chunk program returns: the carry, its steps' records, how many steps it took
    and the problem's metrics (blocks, lane) at the ends of the blocks that took them."""

    carry: Carry
    records: StepRecord
    steps: Any
    metrics: dict[str, Any]


class FinalOutput(NamedTuple):
    """What the final program returns of the lanes' last states, each with its lane axis."""

    params: Any
    loss: Any
    metrics: dict[str, Any]
    indicators: dict[str, Any]
    front: Any  # a Pareto method's front (points, objectives), else None


class Programs(NamedTuple):
    """A run shape's compiled programs."""

    init: Any  # (seeds, start, hyper, data) -> Carry
    chunk: Any  # (carry, hyper, data, limits, first_block) -> ChunkOutput
    final: Any  # (state, hyper, data) -> FinalOutput


Build = Callable[[dict[str, Any]], NativeSolver]


def fixed_start(problem: Problem, width: int) -> Any:
    """The init program's ``start`` argument: a fixed starting point (``problem.init`` not
    callable) repeated over the lanes, so problems that differ only in it (NIST's two
    starts) share their programs; an empty array where starts are drawn from the seed."""
    if callable(problem.init):
        return np.zeros((width, 0), problem.dtype)
    return jax.tree_util.tree_map(lambda a: np.repeat(np.asarray(a, problem.dtype)[None], width, 0), problem.init)


def compile_programs(
    problem: Problem, build: Build, length: int, seeds: Any, start: Any, hyper: Any, data: Any, limits: Limits
):
    """Lower and compile the init, chunk and final programs for one run's shape. The
    starting point and the data are arguments, so problems that differ only in them
    (NIST's two starts) have the same programs. The lanes' width is the seeds' length."""
    width = seeds.shape[0]
    # A Pareto method's answer is a front, not a point the problem's metrics could score.
    scores_points = problem.metrics is not None and problem.loss is not None
    block_size = block_length(length)
    # A minibatch method's steps see minibatch losses; the harness measures the full
    # training loss on the metrics' schedule instead (as the trace's ``loss``).
    solver = build({k: v[0] for k, v in hyper.items()})
    full_each_step = solver.full_loss_each_step
    # A run alone in its program skips its steps once stopped where a step evaluates a
    # population (ga 100 x 100 on quadratic: 1.3x faster); a cheap step's branch costs more
    # than the masked steps of its last block save (adam on sinusoidal: 1.1x slower).
    skip_stopped = width == 1 and getattr(solver, "searches_box", False)

    def harness_loss(solver, state, data):
        """The loss the harness measures (not counted); for a black box, whose every call is
        real, the one the state holds, where it holds one."""
        known = solver.known_loss(state) if problem.black_box is not None else None
        return solver.measured_loss(problem, data, state) if known is None else known

    def init_one(seed, start, h, data):
        """A run's start: its seed's two keys (one draws the starting point, where the
        problem draws one, the other is the solver's), its solver's state there, and the
        loss the harness measures there."""
        init_key, run_key = jax.random.split(jax.random.PRNGKey(seed))
        params = problem.init_params(init_key) if callable(problem.init) else start
        solver = build(h)
        state = solver.init(problem, data, params, run_key)
        zero = jnp.zeros((), jnp.int32)
        # Measured by the harness once, not counted: the scale against which a loss "explodes".
        start_loss = harness_loss(solver, state, data).astype(problem.dtype)
        ceiling = jnp.where(jnp.isfinite(start_loss), EXPLODE_FACTOR * (1.0 + jnp.abs(start_loss)), jnp.inf)
        return Carry(state, zero, zero, zero, ceiling.astype(problem.dtype), zero, start_loss)

    def step_one(carry: Carry, h, data, limits: Limits):
        return _advance(build(h), problem, data, carry, limits, full_each_step, skip=skip_stopped)

    def metrics_one(state, h):
        return dict(problem.metrics(build(h).params(state)))

    def measured_one(state, h, data):
        """What the harness measures on the metrics' schedule: the problem's metrics and,
        for a minibatch method, the full training loss (as ``loss``)."""
        values = metrics_one(state, h) if scores_points else {}
        if not full_each_step:
            values["loss"] = build(h).measured_loss(problem, data, state).astype(problem.dtype)
        return values

    def chunk(carry, h, data, limits, first_block):
        """``length`` steps (whole blocks of ``BLOCK``), ending after the first block at
        whose end no lane is still running, so a stopped batch costs little. Returns the
        records (steps, lane), how many steps were taken, and the problem's metrics
        (blocks, lane) at the ends of the blocks ``record_metrics`` picks (NaN elsewhere);
        rows after a lane stopped are marked not running."""
        step = lanes(step_one, (0, 0, None, None), width)
        measure = lanes(measured_one, (0, 0, None), width)
        blocks = length // block_size

        record = _record_shapes(build, problem, carry.state, h, block_size, width)
        tree = jax.tree_util.tree_map

        def block(c):
            return jax.lax.scan(lambda c, _: step(c, h, data, limits), c, None, length=block_size)

        empty = tree(lambda r: jnp.zeros((blocks, *r.shape), r.dtype), record)
        shapes = jax.eval_shape(measure, carry.state, h, data) if scores_points or not full_each_step else {}
        unmeasured = {k: jnp.full((blocks, *v.shape), jnp.nan, v.dtype) for k, v in shapes.items()}

        def more(loop):
            i, c, _, _ = loop
            return (i < blocks) & jnp.any(c.code == 0)

        def body(loop):
            i, c, rows, measured = loop
            c, record = block(c)
            rows = tree(lambda r, new: r.at[i].set(new), rows, record)
            if shapes:  # a real branch: metrics are computed only on the blocks that take them
                nan = lambda s: {k: jnp.full(v.shape, jnp.nan, v.dtype) for k, v in shapes.items()}
                values = jax.lax.cond(record_metrics(first_block + i + 1), lambda s: measure(s, h, data), nan, c.state)
                measured = {k: measured[k].at[i].set(values[k]) for k in measured}
                if not full_each_step:  # the target is met when the full training loss meets it
                    met = (c.code == 0) & (values["loss"] <= limits.target)
                    c = c._replace(code=jnp.where(met, _CODE_OF[Status.TARGET_REACHED], c.code))
            return i + 1, c, rows, measured

        start = (jnp.zeros((), jnp.int32), carry, empty, unmeasured)
        done, carry, rows, measured = jax.lax.while_loop(more, body, start)
        rows = tree(lambda r: r.reshape(-1, *r.shape[2:]), rows)
        return ChunkOutput(carry, rows, done * block_size, measured)

    def final_one(state, h, data):
        solver = build(h)
        metrics = metrics_one(state, h) if scores_points else {}
        loss, indicators = harness_loss(solver, state, data), solver.indicators(problem, state)
        return FinalOutput(solver.params(state), loss, metrics, indicators, solver.front(state))

    init_fn = jax.jit(lanes(init_one, (0, 0, 0, None), width))
    carry = jax.eval_shape(init_fn, seeds, start, hyper, data)
    chunk_fn = _compiled(jax.jit(chunk).lower(carry, hyper, data, limits, np.int32(0)))
    final_fn = _compiled(jax.jit(lanes(final_one, (0, 0, None), width)).lower(carry.state, hyper, data), _once())
    return Programs(_compiled(init_fn.lower(seeds, start, hyper, data), _once()), chunk_fn, final_fn)


def clear() -> None:
    """Forget the executables shared between programs that lowered alike."""
    _BY_MODULE.clear()


def _compiled(lowered: Any, options: dict[str, Any] | None = None) -> Any:
    """The executable of a lowered program, shared by every program that lowered to the
    same module with the same argument and result trees: problems that differ only in
    their data or starting point, which are arguments (NIST's two starts), compile once.
    The module's text holds its constants (data a problem closes over, too), so two
    different programs never share; a program that calls back to Python never shares, as
    the module names its callback by a number, not by the function it calls."""
    module = lowered.as_text(debug_info=False)  # without source locations, which name the caller's lines
    if "callback" in module:  # host callbacks (a black box, jax.debug) are the problem's own
        return lowered.compile(options)
    digest = hashlib.sha256(module.encode()).hexdigest()
    # The argument and result trees and the arguments' shapes are part of an executable:
    # two solvers' states may lower alike, and an argument the program does not use is
    # left out of the module (GA's final program for populations of 20 and 100).
    shapes = tuple((a.shape, str(a.dtype)) for a in jax.tree_util.tree_leaves(lowered.args_info))
    key = (digest, lowered.in_tree, lowered.out_tree, shapes, tuple(sorted((options or {}).items())))
    return _BY_MODULE.get(key, lambda: lowered.compile(options))[0]


def block_length(length: int) -> int:
    """Steps per block in a chunk of ``length`` steps: ``BLOCK``, or the whole chunk when
    it is shorter (a run of 3 steps computes no masked steps after its last)."""
    return min(BLOCK, length)


def record_metrics(block: Any) -> Any:
    """Whether the problem's metrics are taken after global block ``block`` (1-based) of
    ``BLOCK`` steps: after blocks 1, 2, 4, 8 and every 8th block, so after steps 16, 32,
    64, 128, 256, 384, ... (and always at the end of a run). Early progress is seen, and
    the cost stays below one metric evaluation per 128 steps."""
    return ((block & (block - 1)) == 0) | (block % 8 == 0)


def _once() -> dict[str, Any] | None:
    return _ONCE_ON_CPU if jax.default_backend() == "cpu" else None


def lanes(fn: Callable, in_axes: tuple, width: int) -> Callable:
    """``fn`` of one run, on arguments and results with a lane axis of length ``width``
    (the arguments whose axis is 0; the others are shared): ``jax.vmap`` over the lanes,
    or for a single lane ``fn`` itself, with real control flow (under ``vmap`` a
    ``lax.cond`` computes both branches). A lane's numbers depend on the width, never on
    what the other lanes hold: the width is a property of the program, not of the batch."""
    if width > 1:
        return jax.vmap(fn, in_axes=in_axes)

    def single(*args):
        args = [jax.tree_util.tree_map(lambda a: a[0], a) if axis == 0 else a for a, axis in zip(args, in_axes)]
        return jax.tree_util.tree_map(lambda a: a[None], fn(*args))

    return single


def _record_shapes(build: Build, problem: Problem, state: Any, h: Any, block_size: int, width: int) -> Any:
    """The shapes of a block's records, as ``_advance`` makes them (loss, counters, whether
    running, the solver's indicators), each (block_size, width, ...): found without tracing
    the step a second time, which was a third of the time spent tracing a chunk."""
    indicators = jax.eval_shape(lanes(lambda s, h: build(h).indicators(problem, s), (0, 0), width), state, h)
    scalar = lambda dtype: jax.ShapeDtypeStruct((block_size, width), dtype)
    stacked = jax.tree_util.tree_map(lambda a: jax.ShapeDtypeStruct((block_size, *a.shape), a.dtype), indicators)
    return StepRecord(scalar(problem.dtype), scalar(np.int32), scalar(np.int32), scalar(np.bool_), stacked)


def _normal(info: StepInfo, dtype: str) -> StepInfo:
    """A solver's report in fixed dtypes, so the scan carry keeps its types (a Python int
    or an int64 from ``jnp.where`` would otherwise change the counters' type)."""
    known_nfev = info.nfev if info.known_nfev is None else info.known_nfev
    known_njev = info.njev if info.known_njev is None else info.known_njev
    return StepInfo(
        jnp.asarray(info.loss, dtype),
        jnp.asarray(info.nfev, jnp.int32),
        jnp.asarray(info.njev, jnp.int32),
        jnp.asarray(info.converged, bool),
        jnp.asarray(known_nfev, jnp.int32),
        jnp.asarray(known_njev, jnp.int32),
    )


def _step(solver: NativeSolver, problem: Problem, data: Any, state: Any, evals_left: Any) -> tuple[Any, StepInfo]:
    new_state, info = solver.step_within(problem, data, state, evals_left)
    return new_state, _normal(info, problem.dtype)


def _no_step(problem: Problem, state: Any) -> tuple[Any, StepInfo]:
    """What a stopped run's step returns: its state, and nothing evaluated (in the dtypes
    ``_normal`` gives a step's report)."""
    return state, _normal(StepInfo(0, 0, 0, False), problem.dtype)


def _advance(
    solver: NativeSolver,
    problem: Problem,
    data: Any,
    carry: Carry,
    limits: Limits,
    full: bool = True,
    skip: bool = False,
):
    """One step of one run, with the budget and stopping tests applied on the device.
    Records the loss at the step's start (a minibatch's, where not ``full``), the counters
    at which that loss was known (``StepInfo.known_nfev``), whether the run was running,
    and the solver's indicators of the state at the step's start. A minibatch loss does
    not decide whether a target is reached. A stopped run's step is computed and discarded,
    or where ``skip``, skipped by a real branch."""
    running = carry.code == 0
    evals_left = jnp.minimum(limits.max_evals, limits.max_epoch_evals) - carry.nfev
    if problem.black_box is None and not skip:  # computed and discarded once stopped: cheaper than a branch
        new_state, info = _step(solver, problem, data, carry.state, evals_left)
    else:  # every evaluation of a black box is a real call: a stopped run makes none
        step, no_step = (lambda s: _step(solver, problem, data, s, evals_left)), (lambda s: _no_step(problem, s))
        new_state, info = jax.lax.cond(running, step, no_step, carry.state)
    loss = info.loss
    nfev = carry.nfev + info.nfev
    njev = carry.njev + info.njev
    diverged = ~(loss <= carry.ceiling) | ~jnp.isfinite(loss)  # NaN and +-inf too, even from a non-finite start
    reached = (loss <= limits.target) if full else jnp.asarray(False)
    stays = diverged | reached | info.converged
    need = solver.max_step_evals(problem)  # the next step starts only where it cannot pass the budget
    # The first test that holds decides the status: the run's outcomes, then the budget's
    # bounds in the order every driver shares (wall time is tested on the host, per chunk).
    bounds = {
        Status.MAX_STEPS: carry.step + 1 >= limits.max_steps,
        Status.MAX_EVALS: nfev > limits.max_evals - need,
        Status.MAX_EPOCHS: nfev > limits.max_epoch_evals - need,
    }
    tests = {
        Status.DIVERGED: diverged,
        Status.TARGET_REACHED: reached,
        Status.CONVERGED: info.converged,
        **{status: bounds[status] for status in STOP_ORDER if status in bounds},
    }
    code = jnp.select(list(tests.values()), [_CODE_OF[s] for s in tests], 0)
    advance = running & ~stays
    state = jax.tree_util.tree_map(lambda new, old: jnp.where(advance, new, old), new_state, carry.state)
    out = Carry(
        state=state,
        step=jnp.where(advance, carry.step + 1, carry.step),
        nfev=jnp.where(running, nfev, carry.nfev),
        njev=jnp.where(running, njev, carry.njev),
        ceiling=carry.ceiling,
        code=jnp.where(running, code, carry.code),
        start_loss=carry.start_loss,
    )
    nfev_known, njev_known = carry.nfev + info.known_nfev, carry.njev + info.known_njev
    return out, StepRecord(loss, nfev_known, njev_known, running, solver.indicators(problem, carry.state))
