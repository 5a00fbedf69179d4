"""One run: an optimizer configuration on a problem from one seed, skipped where the pair
does not fit and failed where anything in it raises, judged on the problem's bounds."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import jax
import numpy as np

from optbench.budget import Budget
from optbench.drive import bridge, loop
from optbench.drive.population_bridge import run_population
from optbench.drive.run_spec import RunSpec
from optbench.drive.threads import blas_limited, thread_settings
from optbench.flat_problem import declared_box, start_of
from optbench.optimizer_config import OptimizerConfig, as_solver
from optbench.problem import Problem
from optbench.result import Result, Status
from optbench.solver import HostSolver, PopulationSolver


@dataclass(frozen=True)
class Built:
    """A solver ready to run, and what a compiled loop needs to build it again and to key
    its programs (``build(floats)``, ``key``): for a registered configuration, its factory."""

    solver: Any
    build: Callable[[dict[str, float]], Any]
    key: Any
    floats: dict[str, float]

    @classmethod
    def from_config(cls, config: OptimizerConfig) -> Built:
        return cls(config.build(config.floats), config.build, config.solver_key, config.floats)

    @classmethod
    def from_object(cls, given: Any) -> Built:
        """A solver (or optax transformation) a user passed: its programs are keyed by it."""
        solver = as_solver(given, type(given).__name__)
        return cls(solver, lambda _: solver, ("object", given), {})


class Driver(NamedTuple):
    """How solvers of one kind run: ``run(problem, built, budget, runs)``, the results of
    runs that share their programs (``runs``: the (seed, measuring target) of each, and
    ``built``, their solvers, seeds and float hyperparameters apart), and what compiles
    their programs ahead, executing nothing (``precompile(problem, built, budget)``), and how
    many runs execute together (``width(problem, built)``: the lanes of a native program)."""

    run: Callable[[Problem, list[Built], Budget, list[tuple[int, float | None]]], list[Result]]
    precompile: Callable[[Problem, Built, Budget], None]
    width: Callable[[Problem, Built], int] = lambda problem, built: 1


def driver(solver: Any) -> Driver:
    """The driver of a solver's kind, the one table every caller asks: a library's
    population method through the population bridge, any other library solver through the
    library bridge, a native solver in the compiled loop, as lanes of one execution."""
    return next(chosen for kind, chosen in _drivers() if isinstance(solver, kind))


def _one_by_one(run: Callable[[Problem, Built, Budget, int, float | None], Result]):
    """A driver's ``run`` for library solvers, which run alone: each run after the other,
    with BLAS on the threads ``optbench.drive.threads`` gives library runs."""

    def each(problem: Problem, builts: list[Built], budget: Budget, runs: list[tuple[int, float | None]]):
        with blas_limited():
            return [run(problem, built, budget, seed, target) for built, (seed, target) in zip(builts, runs)]

    return each


def _in_lanes(problem: Problem, builts: list[Built], budget: Budget, runs: list[tuple[int, float | None]]):
    lanes = [loop.Lane(built.floats, seed, target) for built, (seed, target) in zip(builts, runs)]
    return loop.run_lanes(problem, builts[0].build, builts[0].key, lanes, budget)


@functools.cache
def _drivers() -> tuple[tuple[type, Driver], ...]:
    population = Driver(
        run=_one_by_one(lambda problem, built, budget, seed, target: run_population(
            problem, built.solver, budget, seed, target
        )),
        precompile=lambda problem, built, budget: None,  # per population size, when the library asks
    )  # fmt: skip
    library = Driver(
        run=_one_by_one(lambda problem, built, budget, seed, target: bridge.run_host(
            problem, built.solver, budget, seed, target
        )),
        precompile=lambda problem, built, budget: bridge.precompile(problem, built.solver.needs),
    )  # fmt: skip
    native = Driver(
        run=_in_lanes,
        precompile=lambda problem, built, budget: loop.precompile(
            problem, built.build, built.key, built.floats, budget
        ),
        width=lambda problem, built: loop.lane_width(problem, built.solver),
    )
    return ((PopulationSolver, population), (HostSolver, library), (object, native))


def run_one(problem: Problem, run: RunSpec) -> Result:
    """The result of one run: skipped where the pair does not fit, failed where anything
    in it raises. Its numbers never depend on which runs ran before or beside it."""
    return run_group(problem, [run])[0]


def run_group(problem: Problem, runs: list[RunSpec]) -> list[Result]:
    """The results of runs of one problem, in order: each skipped where its pair does not
    fit, failed where anything in it raises. Runs of one group of the plan (the same
    program: seeds and float hyperparameters apart) run together as their driver's width
    allows: native ones as lanes of one execution, the others (a black box's too, each with
    its own bookkeeping) one by one. A run's numbers never depend on which runs ran before
    or beside it."""
    results: dict[int, Result] = {}
    together: dict[Any, list[tuple[int, RunSpec, Built]]] = {}
    for i, run in enumerate(runs):
        begin(problem)
        try:
            reason = why_skipped(problem, run.optimizer)
            if reason is not None:
                results[i] = Result.failed(Status.SKIPPED, reason)
                continue
            built = Built.from_config(run.optimizer)  # a factory that rejects its arguments fails here, clearly
        except Exception as err:
            results[i] = Result.from_error(err)
            continue
        together.setdefault(run.group, []).append((i, run, built))
    for members in together.values():
        width = _width(problem, members[0][2])
        for first in range(0, len(members), width):
            batch = members[first : first + width]
            for (i, _, _), result in zip(batch, _run_together(problem, batch)):
                results[i] = result
    return [results[i] for i in range(len(runs))]


def batches(problem: Problem, runs: list[RunSpec]) -> list[list[RunSpec]]:
    """The runs of one group of the plan as they execute: as many together as the lanes of
    their native solver's programs (``Driver.width``), else one by one."""
    try:
        width = _width(problem, Built.from_config(runs[0].optimizer))
    except Exception:  # the runs fail, one by one, with the error
        width = 1
    return [runs[first : first + width] for first in range(0, len(runs), width)]


def _width(problem: Problem, built: Built) -> int:
    """How many runs of ``built`` execute together on ``problem`` (``Driver.width``); 1 where
    asking raises (a start that cannot be drawn): each run then fails with the error."""
    try:
        return driver(built.solver).width(problem, built)
    except Exception:
        return 1


def _run_together(problem: Problem, members: list[tuple[int, RunSpec, Built]]) -> list[Result]:
    """Runs that execute together (at most their driver's width), through their kind's
    driver; if it raises, each of them fails with the error (one failing batch must not
    stop the others)."""
    first, builts = members[0][1], [built for _, _, built in members]
    begin(problem)
    try:
        budget = first.budget.for_problem(problem.n_params)
        ran = driver(builts[0].solver).run(problem, builts, budget, [(run.seed, run.target) for _, run, _ in members])
        return [judged(problem, built.solver, run.seed, result) for (_, run, built), result in zip(members, ran)]
    except Exception as err:
        if problem.black_box is not None and problem.black_box.error is not None:
            return [Result.failed(Status.FAILED, problem.black_box.error)]  # its own words, not XLA's wrapping
        return [Result.from_error(err) for _ in members]


def begin(problem: Problem) -> None:
    """A run starts: a black box's bookkeeping (the first error it raised, the time spent
    inside it) starts anew."""
    if problem.black_box is not None:
        problem.black_box.error, problem.black_box.seconds = None, 0.0


def judged(problem: Problem, solver: Any, seed: int, result: Result) -> Result:
    """The driver's result with optbench's judgement of it, built as one new Result: where
    the problem has bounds, whether the run ended in them (a point outside is never a
    success: a method that ignores them can end below the problem's optimum in its box);
    where a population method searched a box on a problem without bounds, a note if its
    answer sits on the box's edge; for a black box, the time spent inside the function; and
    the threads it ran on."""
    changes: dict[str, Any] = {"threads": thread_settings()}  # where it ran: in its worker, not where it is stored
    notes = []
    inside = _in_bounds(problem, result.x)
    if inside is not None:
        changes["in_bounds"] = inside
        if not inside:
            changes["success"] = False
            notes.append(f"ended outside {problem.name}'s bounds")
    if getattr(solver, "searches_box", False) and problem.bounds is None and result.x is not None:
        notes += _box_edge(problem, seed, result.x)
    if problem.black_box is not None:  # what of the run's time the function itself took
        changes["metrics"] = {**result.metrics, "black_box_s": problem.black_box.seconds}
    if notes:
        changes["message"] = "; ".join([result.message.rstrip(".")] * bool(result.message) + notes)
    return replace(result, **changes)


def _in_bounds(problem: Problem, params: Any) -> bool | None:
    """Whether ``params`` lie in the problem's bounds; None without bounds or a point."""
    if problem.bounds is None or params is None:
        return None

    x = _flat(params)
    lower, upper = declared_box(problem)
    return bool(np.all((lower <= x) & (x <= upper)))


def _box_edge(problem: Problem, seed: int, params: Any) -> list[str]:
    """A note where the answer of a population method sits on the edge of the box it
    searched (its ``search_box``, or the default start +- (1 + |start|)): the answer may
    lie outside, where it never looked."""
    box = declared_box(problem)
    if box is None:
        start = start_of(problem, seed)
        box = start - (1.0 + np.abs(start)), start + (1.0 + np.abs(start))
    lower, upper = box
    x = _flat(params)
    near = 1e-3 * (upper - lower)  # clipped to the box, or within a thousandth of its width
    edge = np.flatnonzero((np.abs(x - lower) <= near) | (np.abs(upper - x) <= near))
    if not edge.size:
        return []
    i = int(edge[0])
    box = "its search_box" if problem.search_box is not None else "start +- (1 + |start|)"
    return [
        f"ended on the edge of the box it searched ({_flat_names(params)[i]} = {x[i]:.6g}, the box "
        f"[{lower[i]:.6g}, {upper[i]:.6g}]: {box}); the answer may lie outside it: give the problem "
        "bounds= or search_box="
    ]


def _flat(params: Any) -> np.ndarray:
    """A result's parameters (numpy leaves) as one float64 vector in ``ravel_pytree``
    order, without a JAX dispatch: judged after every run."""
    return np.concatenate([np.ravel(np.asarray(leaf, np.float64)) for leaf in jax.tree_util.tree_leaves(params)])


def _flat_names(params: Any) -> list[str]:
    """The name of each entry of a pytree's flat vector, in ``ravel_pytree`` order: ``a``,
    ``w[3]`` (a flat array's entry), ``x[1]`` for a bare vector."""
    names = []
    for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]:
        base = "".join(str(getattr(k, "key", getattr(k, "idx", k))) for k in path) or "x"
        size = int(np.size(leaf))
        names += [base] if np.ndim(leaf) == 0 else [f"{base}[{j}]" for j in range(size)]
    return names


def _on_host(config: OptimizerConfig) -> bool:
    """Whether the configuration is a library (host) solver, which calls functions of numpy
    vectors; one whose factory raises is let through, to fail with its own error."""
    try:
        return isinstance(config.build(config.floats), HostSolver)
    except Exception:
        return True


def why_skipped(problem: Problem, config: OptimizerConfig) -> str | None:
    """Why this optimizer cannot run on this problem, or None where it can."""
    missing = config.entry.requires - problem.capabilities
    if missing:
        hint = ""
        if problem.black_box is not None and "grad" in missing:
            hint = (
                "; black_box_problem(..., fd_grad=True) gives it finite-difference gradients for the library "
                "methods scipy_bfgs and scipy_lbfgsb"
            )
        elif problem.black_box is not None and "residuals" in missing:
            hint = "; a black_box_problem of your own takes residuals=r for the library methods scipy_lm and scipy_trf"
        return f"{config.name} requires {', '.join(sorted(missing))}, which {problem.name} does not offer{hint}"
    box = problem.black_box
    if box is not None and box.fd is not None and "grad" in config.entry.requires and not _on_host(config):
        return (
            f"{config.name} needs JAX's derivatives; {problem.name}'s finite-difference gradients are computed "
            "for library methods (scipy_bfgs, scipy_lbfgsb)"
        )
    fitted_on_host = box is not None and box.residual_fn is not None
    if fitted_on_host and "residuals" in config.entry.requires and not _on_host(config):
        return (
            f"{config.name} needs JAX's derivatives; {problem.name}'s residuals are fitted by library methods "
            "(scipy_lm, scipy_trf) with finite-difference Jacobians"
        )
    if config.entry.float64_only and np.dtype(problem.dtype) != np.float64:
        return (
            f"{config.name} runs on float64 problems only (`optbench describe {config.name}` says why); "
            f"{problem.name} is {np.dtype(problem.dtype).name}"
        )
    limit = config.entry.max_params
    if limit is not None and (size := problem.n_params) > limit:
        return f"{config.name} keeps dense state for at most {limit:,} parameters; {problem.name} has {size:,}"
    return None
