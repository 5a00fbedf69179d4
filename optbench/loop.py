"""The shared compiled loop that drives every native solver, from the host's side.

A batch of runs (seeds and float hyperparameters) runs as the compiled programs of
``optbench.programs``, chunk by chunk; between chunks the host checks the wall-time
budget and whether every run has stopped. Compiled programs are cached per (problem,
solver configuration, chunk length, batch size), so a repeated call, another seed or
another learning rate does not compile again.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from optbench.budget import Budget
from optbench.cache import CompiledCache
from optbench.problem import Problem
from optbench.programs import BLOCK, CODES, Build, Limits, compile_programs
from optbench.result import Result, Status
from optbench.trace import build_results

MAX_CHUNK = 4992  # a whole number of blocks: no separately compiled remainder
TIMED_CHUNK = 96

_INT_MAX = np.iinfo(np.int32).max


_CACHE = CompiledCache(64)


def chunk_length(budget: Budget) -> int:
    """Steps per compiled chunk: the step budget split evenly, shorter under a time budget."""
    cap = TIMED_CHUNK if budget.max_time is not None else MAX_CHUNK
    if budget.max_steps is None:
        return cap
    n_chunks = math.ceil(budget.max_steps / cap)
    return math.ceil(budget.max_steps / n_chunks)


def run_batch(
    problem: Problem,
    build: Build,
    solver_key: Any,
    hypers: list[dict[str, float]],
    seeds: list[int],
    budget: Budget,
    target: float | None = None,
) -> list[Result]:
    """Run ``len(seeds)`` runs as one compiled, batched program; one Result per run.

    ``build(hyper)`` makes the solver from a dict of (possibly traced) float
    hyperparameters; ``solver_key`` identifies everything else about it for the cache.
    ``target`` is the loss at which evaluations and time to target are measured (the
    budget's target stops the runs; this one only measures).
    """
    # One program per batch, on the calling thread. Running two parts of a batch on two
    # threads was 1.6x faster for first-order methods, but XLA's CPU runtime deadlocked
    # with two concurrent executions of the Levenberg-Marquardt program; see the note on
    # issue 3 before trying again.
    per_eval = build(hypers[0]).epochs_per_evaluation(problem)
    arguments = _arguments(problem, budget, seeds, hypers, per_eval)
    programs, compile_s = _programs(problem, build, solver_key, budget, tuple(sorted(hypers[0])), arguments)
    measure = budget.target if target is None else target
    return _execute(programs, problem, budget, arguments, measure, compile_s, per_eval)


def _epoch_evals(budget: Budget, per_eval: float) -> int:
    """The epoch budget as a number of evaluations, each ``per_eval`` of an epoch."""
    if budget.max_epochs is None:
        return _INT_MAX
    return min(_INT_MAX, math.ceil(budget.max_epochs / per_eval - 1e-9))


def _arguments(problem: Problem, budget: Budget, seeds: list[int], hypers: list[dict[str, float]], per_eval: float):
    import jax.numpy as jnp

    hyper = {k: jnp.asarray([h[k] for h in hypers], problem.dtype) for k in (hypers[0] if hypers else {})}
    seed_array = np.asarray(seeds, dtype=np.uint32)  # keys are made inside the compiled init
    limits = Limits(
        jnp.asarray(budget.max_steps or _INT_MAX, jnp.int32),
        jnp.asarray(budget.max_evals or _INT_MAX, jnp.int32),
        jnp.asarray(-jnp.inf if budget.target is None else budget.target, problem.dtype),
        jnp.asarray(_epoch_evals(budget, per_eval), jnp.int32),
    )
    return seed_array, hyper, limits


def _programs(problem: Problem, build: Build, solver_key: Any, budget: Budget, hyper_names: tuple, arguments):
    """The compiled programs for this batch shape, from the cache or compiled now."""
    length = chunk_length(budget)
    seed_array, hyper, limits = arguments
    cache_key = (problem, solver_key, length, len(seed_array), hyper_names)

    def make():
        return compile_programs(problem, build, length, seed_array, hyper, problem.data, limits)

    started = time.perf_counter()
    programs, made = _CACHE.get(cache_key, make)
    return programs, (time.perf_counter() - started) if made else 0.0


def _execute(programs, problem: Problem, budget: Budget, arguments, target, compile_s, per_eval: float) -> list[Result]:
    """Run a batch chunk by chunk, checking the time budget between chunks."""
    import jax

    init_fn, chunk_fn, final_fn = programs
    seed_array, hyper, limits = arguments
    data, size, length = problem.data, len(seed_array), chunk_length(budget)
    started = time.perf_counter()
    carry = init_fn(seed_array, hyper, data)
    chunks, times, counts, scheduled = [], [], [], []
    timed_out = False
    while True:
        start = len(counts) * length  # every chunk before this one ran in full
        carry, record, steps, metrics = chunk_fn(carry, hyper, data, limits, np.int32(start // BLOCK))
        record, metrics = jax.device_get((record, metrics))
        chunks.append(record)
        # Metrics taken at the end of block i of this chunk belong to trace row (step) s.
        scheduled.append((start + (np.arange(length // BLOCK) + 1) * BLOCK, metrics))
        counts.append(int(steps))
        elapsed = time.perf_counter() - started
        times.append(elapsed)
        if (np.asarray(carry.code) != 0).all():
            break
        if budget.max_time is not None and elapsed / size >= budget.max_time:
            timed_out = True
            break
    params, final_loss, final_metrics, final_indicators, front = jax.device_get(final_fn(carry.state, hyper, data))
    total = time.perf_counter() - started
    statuses = [CODES.get(int(c), Status.MAX_TIME if timed_out else Status.MAX_STEPS) for c in carry.code]
    return build_results(
        chunks=chunks,
        chunk_times=times,
        chunk_steps=counts,
        scheduled_metrics=scheduled,
        epochs_per_evaluation=per_eval,
        statuses=statuses,
        final_loss=np.asarray(final_loss),
        final_metrics={k: np.asarray(v) for k, v in final_metrics.items()},
        final_indicators={k: np.asarray(v) for k, v in final_indicators.items()},
        fronts=front,
        params=params,
        total_time=total,
        compile_s=compile_s,
        target=target,
        f_opt=problem.f_opt,
    )
