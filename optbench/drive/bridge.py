"""The bridge from a JAX problem to libraries that own their loop (scipy.optimize).

It compiles the problem's functions once for flat float64 vectors, counts every call the
library makes, records each evaluation in the trace, and stops the library (by raising
``Stop`` from inside its callback) when a budget is spent or the target is reached.
"""

from __future__ import annotations

import time
from typing import Any

import jax
import numpy as np
import pandas as pd

from optbench.budget import Budget
from optbench.caches.program_cache import ProgramCache, combined
from optbench.drive.trace import host_result
from optbench.flat_problem import flat_start, search_box, unravel_for, vector_function
from optbench.problem import Problem
from optbench.result import Result, Status

_PROGRAMS = ProgramCache(64)


class Stop(Exception):
    """Raised inside a library's callback to end the run with ``status``."""

    def __init__(self, status: Status):
        super().__init__(status.value)
        self.status = status


class Bridge:
    """A problem seen as numpy functions of a flat vector, with counters and a trace."""

    def __init__(self, problem: Problem, budget: Budget, target: float | None, seed: int, needs: tuple[str, ...]):
        x0, self.unravel = flat_start(problem, seed), unravel_for(problem)
        self.x0 = np.asarray(x0, dtype=np.float64)
        self.bounds = None  # the problem's box as flat (lower, upper), for libraries that keep to it
        if problem.bounds is not None:
            self.bounds = tuple(np.asarray(b, np.float64) for b in search_box(problem, x0))
        self.problem, self.budget, self.measure = problem, budget, target
        self.nfev = self.njev = self.nit = 0
        # A trace row's step is the iteration its evaluation belongs to. Least-squares
        # libraries start an iteration with its Jacobian (``nit`` counts it already);
        # the others count an iteration in a callback at its end, so their evaluations
        # after the starting point's belong to iteration ``nit + 1``.
        self._ahead = 0 if "jacobian" in needs else 1
        self.rows: list[tuple[int, int, int, float, float]] = []  # step, nfev, njev, time_s, loss
        self.best = (np.inf, self.x0)
        self._seen: dict[bytes, float] = {}  # a black box's values by point, to report the answer's
        # Compiled before the clock starts; compile_s is 0 where every function was reused
        # from an earlier run, as for native runs.
        if problem.black_box is not None:  # a Python function: called directly, nothing to compile
            compiled = {kind: (fn, None) for kind, fn in problem.black_box.functions().items()}
        else:
            compiled = {kind: _PROGRAMS.get(*_function_key(problem, kind)) for kind in {"value", *needs}}
        self._value = compiled["value"][0]
        self._value_and_grad = compiled.get("value_and_grad", (None,))[0]
        self._residuals, self._jacobian = compiled.get("residuals", (None,))[0], compiled.get("jacobian", (None,))[0]
        self.compile_s, self.cache_hit = combined([cost for _, cost in compiled.values()])
        self.started = time.perf_counter()

    # The functions a library calls. Each counts itself and records the loss it saw.
    def fun(self, x: np.ndarray) -> float:
        self._check_evals()
        loss = float(self._value(x))
        self.nfev += 1
        self._record(x, loss)
        return loss

    def fun_and_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        box = self.problem.black_box
        cost = 1 if box is None else box.gradient_cost  # a finite difference costs evaluations
        self._check_evals(cost)
        loss, grad = self._value_and_grad(x)
        self.nfev += cost
        self.njev += 1
        self._record(x, float(loss))
        return float(loss), np.asarray(grad)

    def residuals(self, x: np.ndarray) -> np.ndarray:
        self._check_evals()
        r = np.asarray(self._residuals(x))
        self.nfev += 1
        self._record(x, float(np.mean(r**2)))
        return r

    def jacobian(self, x: np.ndarray) -> np.ndarray:
        box = self.problem.black_box
        cost = 0 if box is None else box.jacobian_cost(x)  # a finite difference costs evaluations
        if cost:
            self._check_evals(cost)
        self.njev += 1
        self.nit = self.njev  # least-squares methods evaluate one Jacobian per iteration
        self._check_steps()
        jac = np.asarray(self._jacobian(x))
        self.nfev += cost
        return jac

    def iteration(self, *_: Any) -> None:
        """A library's per-iteration callback."""
        self.nit += 1
        self._check_steps()

    def _check_evals(self, cost: int = 1) -> None:
        """Stop before a call that would take the run past its evaluation budget."""
        reason = self.budget.stop_reason(evals=self.nfev, next_cost=cost, elapsed=time.perf_counter() - self.started)
        if reason is not None:
            raise Stop(reason)

    def _check_steps(self) -> None:
        if (reason := self.budget.stop_reason(steps=self.nit)) is not None:
            raise Stop(reason)

    def _record(self, x: np.ndarray, loss: float) -> None:
        step = self.nit + (self._ahead if self.nfev > 1 else 0)
        self.rows.append((step, self.nfev, self.njev, time.perf_counter() - self.started, loss))
        if self.problem.black_box is not None:
            self._seen[np.asarray(x, dtype=np.float64).tobytes()] = loss
        if loss < self.best[0]:
            self.best = (loss, np.array(x, copy=True))
        if (reason := self.budget.stop_reason(loss=loss)) is not None:
            raise Stop(reason)

    def _measured(self, point: np.ndarray) -> float:
        """The loss at the answer, measured by optbench and not counted; for a black box,
        whose every call is real, the value the library saw there (the best point's, when
        the library's answer was never evaluated)."""
        if self.problem.black_box is None:
            return float(self._value(point))
        seen = self._seen.get(point.tobytes())
        return self.best[0] if seen is None else seen

    def result(self, status: Status, message: str, x: np.ndarray | None) -> Result:
        """The run as a Result: ``x`` is the library's answer, else the best point seen."""
        total = time.perf_counter() - self.started
        point = self.best[1] if x is None else np.asarray(x, dtype=np.float64)
        fun = self._measured(point)
        metrics = self.problem.metrics(self.unravel(point)) if self.problem.metrics is not None else {}
        rows = np.array([*self.rows, (self.nit, self.nfev, self.njev, total, fun)], dtype=float)
        rows[:, 0] = np.minimum(rows[:, 0], self.nit)  # trials of an iteration that never completed
        trace = pd.DataFrame(rows, columns=["step", "nfev", "njev", "time_s", "loss"])
        trace.insert(3, "epochs", trace["nfev"])  # a library evaluates on the full data: one pass each
        trace = trace.astype({"step": int, "nfev": int, "njev": int})
        return host_result(
            trace, status=status, message=message, fun=fun, target=self.measure, f_opt=self.problem.f_opt,
            x=self.unravel(point), nit=self.nit, nfev=self.nfev, njev=self.njev, time_s=total,
            compile_s=self.compile_s, cache_hit=self.cache_hit, metrics={k: float(v) for k, v in metrics.items()},
        )  # fmt: skip


def run_host(problem: Problem, solver: Any, budget: Budget, seed: int, target: float | None) -> Result:
    """One run of a library solver, stopped by the budget from inside its callbacks."""
    bridge = Bridge(problem, budget, target, seed, solver.needs)
    try:
        # Overflow on the way is part of a run (a diverging fit ends as ``diverged``), not
        # something to print: numpy's floating-point warnings inside the library are off.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            x, status, message = solver.solve(bridge, bridge.x0)
    except Stop as stop:
        x, status, message = None, stop.status, f"stopped by the budget ({stop.status.value})"
    return bridge.result(status, message, x)


def precompile(problem: Problem, needs: tuple[str, ...]) -> None:
    """Compile the functions a library solver calls, executing nothing: safe on a
    background thread while another run executes."""
    if problem.black_box is not None:  # called directly: nothing to compile
        return
    for kind in {"value", *needs}:
        _PROGRAMS.prefetch(*_function_key(problem, kind))


def _function_key(problem: Problem, kind: str):
    """The key of one of a problem's compiled functions of flat float64 vectors, shared by
    every run on the problem, and how to make it."""

    def make() -> Any:
        fn = vector_function(problem, problem.data, kind)
        return jax.jit(fn).lower(jax.ShapeDtypeStruct((problem.n_params,), np.float64)).compile()

    return (problem.program_identity, kind), make
