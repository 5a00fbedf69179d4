"""The bridge from a JAX problem to population libraries that own their loop (DEAP, pymoo).

A library hands over whole populations: ``evaluate`` scores one with a single compiled,
batched call and counts every individual; ``population`` records the population a
generation ended with (its best loss, or for Pareto search minus its hypervolume and its
indicators) and stops the library, by raising ``Stop``, when a budget is spent. Steps are
generations; the initial population is step 0.
"""

from __future__ import annotations

import time
from typing import Any

import jax
import numpy as np
import pandas as pd

from optbench.budget import Budget
from optbench.caches.program_cache import ProgramCache, combined
from optbench.drive.bridge import Stop
from optbench.drive.trace import front_of, host_result
from optbench.flat_problem import flat_start, loss_values, objective_vectors, search_box, unravel_for
from optbench.fronts import check_two_objectives, front_indicators, nondominated_ranks
from optbench.problem import Problem
from optbench.result import Result, Status
from optbench.solver import PopulationSolver

_PROGRAMS = ProgramCache(32)


class PopulationBridge:
    """A problem seen as batched numpy functions of a population of flat vectors."""

    def __init__(self, problem: Problem, budget: Budget, target: float | None, seed: int, pop_size: int):
        x0, self.unravel = flat_start(problem, seed), unravel_for(problem)
        lower, upper = search_box(problem, x0)
        self.lower, self.upper = np.asarray(lower, np.float64), np.asarray(upper, np.float64)
        self.problem, self.budget, self.measure, self.seed = problem, budget, target, seed
        self.multi = problem.objectives is not None
        self.pop_size, self.n = pop_size, int(x0.shape[0])
        self.nfev = self.nit = 0
        self.rows: list[dict[str, float]] = []
        self.last: tuple[np.ndarray, np.ndarray] | None = None
        # Compiled before the clock starts; 0 s when reused, as for native runs.
        # (A black box has no compiled evaluation: ``evaluate`` calls its function directly.)
        (self._evaluate, self._indicators), cost = _PROGRAMS.get((problem, pop_size), self._compile)
        self.compile_s, self.cache_hit = combined([cost])
        self.started = time.perf_counter()

    def _compile(self) -> tuple[Any, Any]:
        shape = jax.ShapeDtypeStruct((self.pop_size, self.n), self.problem.dtype)
        if not self.multi:
            if self.problem.black_box is not None:
                return None, None
            return jax.jit(loss_values(self.problem, self.problem.data)).lower(shape).compile(), None
        m = jax.eval_shape(objective_vectors(self.problem), shape).shape[1]
        evaluate = None
        if self.problem.black_box is None:
            evaluate = jax.jit(objective_vectors(self.problem)).lower(shape).compile()
        check_two_objectives(self.problem, m)
        objectives = jax.ShapeDtypeStruct((self.pop_size, m), self.problem.dtype)
        indicators = jax.jit(lambda f: front_indicators(self.problem, f)).lower(objectives).compile()
        return evaluate, indicators

    def evaluate(self, population: Any) -> np.ndarray:
        """Losses (P,) or objective vectors (P, m) of a population, every individual counted;
        non-finite values are +inf. Batches of another size are padded, not counted."""
        x = np.asarray(population, dtype=self.problem.dtype).reshape(-1, self.n)
        count = x.shape[0]
        if self.problem.black_box is not None:  # a Python function: no padding, every point a real call
            self.nfev += count
            values = np.asarray(self.problem.black_box.values(x), dtype=np.float64) if count else np.zeros((0,))
            return np.where(np.isfinite(values), values, np.inf)
        out = []
        for start in range(0, count, self.pop_size):
            part = x[start : start + self.pop_size]
            padded = np.concatenate([part, np.repeat(part[:1], self.pop_size - len(part), axis=0)])
            out.append(np.asarray(self._evaluate(padded), dtype=np.float64)[: len(part)])
        self.nfev += count
        return np.concatenate(out) if out else np.zeros((0,))

    def population(self, population: Any, scores: Any) -> None:
        """Record the population a generation ended with (the initial one is step 0), then
        stop the library if a budget is spent or the target reached."""
        x, scores = np.asarray(population, np.float64), np.asarray(scores, np.float64)
        self.last = (x, scores)
        if self.multi:
            indicators = {k: float(v) for k, v in self._indicators(scores.astype(self.problem.dtype)).items()}
            loss = -indicators["hypervolume"]
        else:
            indicators, loss = {}, float(np.min(scores))
        elapsed = time.perf_counter() - self.started
        self.rows.append({"step": self.nit, "nfev": self.nfev, "time_s": elapsed, "loss": loss, **indicators})
        # The next generation's first evaluation must not pass the budget.
        reason = self.budget.stop_reason(loss=loss, steps=self.nit, evals=self.nfev, next_cost=1, elapsed=elapsed)
        if reason is not None:
            raise Stop(reason)
        self.nit += 1

    def result(self, status: Status, message: str) -> Result:
        total = time.perf_counter() - self.started
        if self.last is None:
            return Result.failed(Status.FAILED, f"the library stopped before its first population ({message})")
        x, scores = self.last
        trace = pd.DataFrame(self.rows)
        trace.insert(2, "njev", 0)
        trace.insert(3, "epochs", trace["nfev"].astype(float))  # each evaluation uses the full data
        # A loss that is not finite at the end: no member ever had a finite one (its
        # non-finite values count as +inf); the target is met on every generation's row.
        common = dict(
            status=status, message=message, fun=float(self.rows[-1]["loss"]), target=self.measure,
            f_opt=self.problem.f_opt, nit=self.rows[-1]["step"], nfev=self.nfev, time_s=total,
            compile_s=self.compile_s, cache_hit=self.cache_hit,
        )  # fmt: skip
        if self.multi:
            first = np.asarray(nondominated_ranks(scores)) == 0
            metrics = {k: v for k, v in self.rows[-1].items() if k not in ("step", "nfev", "time_s", "loss")}
            return host_result(trace, x=None, front=front_of(scores, x, first), metrics=metrics, **common)
        best = x[int(np.argmin(scores))]
        return host_result(trace, x=self.unravel(best), **common)


def run_population(problem: Problem, solver: PopulationSolver, budget: Budget, seed: int, target: float | None):
    """One run of a library's evolutionary algorithm, stopped by the budget."""
    bridge = PopulationBridge(problem, budget, target, seed, solver.pop_size)
    try:
        status, message = solver.evolve(bridge)
    except Stop as stop:
        status, message = stop.status, f"stopped by the budget ({stop.status.value})"
    return bridge.result(status, message)
