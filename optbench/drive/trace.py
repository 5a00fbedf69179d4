"""From a native run's per-step records to its ``Result`` and trace; thinning of long traces."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from optbench.result import TRACE_COLUMNS, Front, Result, Status

if TYPE_CHECKING:  # pandas loads on first use: listing optimizers imports this module
    import pandas as pd

# Statuses where the run stops at the point it had just evaluated, without stepping on.
_STAYS = (Status.CONVERGED, Status.TARGET_REACHED, Status.DIVERGED)
MAX_TRACE_ROWS = 500
# COCO's precision targets, f - f_opt <= 10**k for k = 2, 1.8, ..., -8. Where the optimum
# is known, a thinned trace keeps the row at which each is first reached (COCO's
# target-triggered logging), so hitting times measured at them stay exact.
PRECISIONS = 10.0 ** (np.arange(10, -41, -1) / 5)


# Rows a streamed trace keeps on a fixed logarithmic grid of steps, 60 per decade up to 2**31.
_LOG_STEPS = np.unique(np.round(10.0 ** (np.arange(0, 561) / 60)).astype(np.int64) - 1)


class StreamedTrace:
    """A native run's trace, thinned as its chunks arrive, so that memory stays bounded
    (a run of 10**8 steps holds a few thousand rows, not 10**8).

    A run of at most ``max_rows`` rows keeps them all. A longer one keeps: evenly spaced
    rows (a power-of-two stride, at most ``max_rows / 2`` of them), the rows of a fixed
    logarithmic grid of steps (the early descent), the first row at or below each of COCO's
    precision targets ``f_opt + PRECISIONS`` (so hitting times stay exact), at most
    ``max_rows / 2`` of the rows at which the problem's metrics were taken, and the last
    row. ``best_loss`` is the best over every row, kept or not. Which rows are kept depends
    only on the run's own records, so the same run keeps the same rows.
    """

    def __init__(
        self,
        f_opt: float | None,
        target: float | None,
        epochs_per_evaluation: float = 1.0,
        max_rows: int = MAX_TRACE_ROWS,
    ):
        self.levels = np.zeros(0) if f_opt is None else f_opt + PRECISIONS  # descending
        self.target, self.per_eval, self.max_rows = target, epochs_per_evaluation, max_rows
        self.n = 0  # rows seen
        self.metrics_seen = 0
        self.best = np.nan
        self.at_target: tuple[float, float] | None = None  # (nfev, time_s) of the first row at or below target
        self.parts: list[dict[str, np.ndarray]] = []
        self.pending: dict[int, dict[str, float]] = {}  # metrics taken for a row that has not arrived yet

    def add(self, rows: dict[str, np.ndarray], metrics: dict[int, dict[str, float]] | None = None) -> None:
        """Append consecutive rows (``loss``, ``nfev``, ``njev``, ``time_s`` and indicators),
        and the problem's metrics taken at given trace rows (this chunk's or later ones)."""
        loss = np.asarray(rows["loss"], np.float64)
        k = len(loss)
        if not k:
            return
        steps = self.n + np.arange(k)
        best = np.fmin.accumulate(np.concatenate([[self.best], loss]))[1:]
        self.best = best[-1]
        pinned = np.zeros(k, bool)
        first = first_reached(best, self.levels)
        pinned[first[first < k]] = True
        self.levels = self.levels[first >= k]  # the levels still to reach
        if self.target is not None and self.at_target is None and (hit := np.flatnonzero(loss <= self.target)).size:
            self.at_target = (float(rows["nfev"][hit[0]]), float(rows["time_s"][hit[0]]))
        nfev = np.asarray(rows["nfev"], np.int64)
        part = {
            "step": steps,
            **{name: np.asarray(values, np.float64) for name, values in rows.items()},
            "nfev": nfev,
            "njev": np.asarray(rows["njev"], np.int64),
            "epochs": nfev * self.per_eval,
            "loss": loss,
            "best_loss": best,
            "pinned": pinned,
            "metric_index": np.full(k, -1),
        }
        self.pending.update(metrics or {})
        here = sorted(row for row in self.pending if row < self.n + k)
        for name in dict.fromkeys(name for row in here for name in self.pending[row]):  # in a fixed order
            part[name] = np.full(k, np.nan)
        for row in here:
            for name, value in self.pending.pop(row).items():
                part[name][row - self.n] = value
            part["metric_index"][row - self.n] = self.metrics_seen
            self.metrics_seen += 1
        self.parts.append(part)
        self.n += k
        if sum(len(p["step"]) for p in self.parts) > 4 * self.max_rows:
            self.parts = [self._kept(self._joined())]

    def finish(self, final_metrics: dict[str, float]) -> pd.DataFrame:
        """The kept rows, the last with the metrics taken at the end of the run."""
        rows = self._joined()
        for name, value in final_metrics.items():
            column = rows.setdefault(name, np.full(len(rows["step"]), np.nan))
            column[-1] = value
        if self.n > self.max_rows:
            rows = self._kept(rows)
        import pandas as pd

        names = [*TRACE_COLUMNS, *(k for k in rows if k not in TRACE_COLUMNS and k not in ("pinned", "metric_index"))]
        return pd.DataFrame({name: rows[name] for name in names})

    def _joined(self) -> dict[str, np.ndarray]:
        names = list(dict.fromkeys(name for part in self.parts for name in part))
        return {
            name: np.concatenate([p[name] if name in p else np.full(len(p["step"]), np.nan) for p in self.parts])
            for name in names
        }

    def _kept(self, rows: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        steps, half = rows["step"], self.max_rows // 2
        stride = 1 << max(0, math.ceil(math.log2(max(1.0, self.n / half))))
        metric_stride = 1 << max(0, math.ceil(math.log2(max(1.0, self.metrics_seen / half))))
        index = rows["metric_index"]
        keep = (
            (steps % stride == 0)
            | np.isin(steps, _LOG_STEPS)
            | rows["pinned"]
            | ((index >= 0) & (index % metric_stride == 0))
            | (steps == self.n - 1)
        )
        return {name: values[keep] for name, values in rows.items()}


def native_result(
    trace: StreamedTrace,
    *,
    status: Status,
    final_loss: float,
    final_metrics: dict[str, float],
    final_indicators: dict[str, float],
    front: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
    params: Any,
    total_time: float,
    compile_s: float,
    counts: tuple[int, int],
    final_row: bool | None = None,
    cache_hit: bool | None = None,
    lanes: int = 1,
    batch_time: float = float("nan"),
) -> Result:
    """A native run's Result from its streamed trace and what the final program measured.
    The final point gets a row of its own where the loop did not record it (``final_row``;
    by default, unless the run stopped on the point it started its last step from).
    ``counts`` are the run's evaluations (nfev, njev): a row has the counts at which its
    loss was known, and the last step may evaluate past them. ``lanes``: the lane width of
    the programs it ran in; ``batch_time``: the wall time of the execution they shared."""
    nfev, njev = counts
    if final_row is None:
        final_row = status not in _STAYS
    if final_row:  # the final point, after the last step, was not evaluated in the loop
        extra = {"loss": [final_loss], "nfev": [nfev], "njev": [njev], "time_s": [total_time]}
        trace.add({**extra, **{k: [v] for k, v in final_indicators.items()}})
    nit = trace.n - 1
    target = trace.target
    seen = [v for v in (final_loss, trace.best) if not math.isnan(v)]  # the trace's best_loss ends at trace.best
    return Result(
        x=params,
        fun=final_loss,
        status=status,
        message=_message(status, nit, nfev),
        nit=nit,
        nfev=nfev,
        njev=njev,
        time_s=total_time,
        compile_s=compile_s,
        cache_hit=cache_hit,
        lanes=lanes,
        batch_time_s=batch_time,
        trace=trace.finish(final_metrics),
        nfev_to_target=trace.at_target[0] if trace.at_target else float("nan"),
        time_to_target=trace.at_target[1] if trace.at_target else float("nan"),
        metrics={**final_metrics, **final_indicators},
        front=None if front is None else front_of(*front),
        success=status.success and (target is None or final_loss <= target),
        best_fun=min(seen) if seen else float("nan"),
    )


def host_result(
    trace: pd.DataFrame,
    *,
    status: Status,
    message: str,
    fun: float,
    target: float | None,
    f_opt: float | None,
    **fields: Any,
) -> Result:
    """A library run's Result, for both library bridges: the run's recorded ``trace`` (one
    row per evaluation or generation: step, nfev, njev, epochs, time_s, loss, ...) gets its
    best loss, the first row at the ``target`` gives the cost to it, and the trace is thinned
    to the rows that matter; a run that stopped with a loss that is not finite diverged;
    success is the status's, at or below the target. ``fields``: the Result's other fields."""
    if not np.isfinite(fun) and (status is Status.CONVERGED or status.budget_exhausted):
        status, message = Status.DIVERGED, f"loss is not finite at the end ({message})"
    trace["best_loss"] = np.fmin.accumulate(trace["loss"].to_numpy())
    hit = np.flatnonzero(trace["loss"].to_numpy() <= target) if target is not None else []
    at = trace.iloc[hit[0]] if len(hit) else None
    trace = trace.iloc[kept_rows(trace["best_loss"].to_numpy(), f_opt)].reset_index(drop=True)
    return Result(
        fun=fun,
        status=status,
        message=message,
        trace=trace,
        nfev_to_target=float(at["nfev"]) if at is not None else float("nan"),
        time_to_target=float(at["time_s"]) if at is not None else float("nan"),
        success=status.success and (target is None or fun <= target),
        **fields,
    )


def front_of(objectives: np.ndarray, params: np.ndarray, nondominated: np.ndarray) -> Front:
    """The non-dominated members of a final population, each distinct objective vector once."""
    objectives, params = np.asarray(objectives, np.float64), np.asarray(params, np.float64)
    keep = np.asarray(nondominated, bool) & np.isfinite(objectives).all(axis=1)
    _, first = np.unique(objectives[keep], axis=0, return_index=True)
    chosen = np.flatnonzero(keep)[np.sort(first)]
    order = chosen[np.argsort(objectives[chosen, 0], kind="stable")]
    return Front(objectives[order], params[order])


def first_reached(best_loss: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Per target, the index of the first row whose best-so-far loss is at or below it;
    ``len(best_loss)`` where it is never reached. ``best_loss`` is non-increasing (leading
    NaN rows, before any finite loss, reach nothing)."""
    falling = -np.where(np.isnan(best_loss), np.inf, best_loss)  # non-decreasing
    return np.searchsorted(falling, -np.asarray(targets, dtype=float), side="left")


def kept_rows(best_loss: np.ndarray, f_opt: float | None, max_rows: int = MAX_TRACE_ROWS) -> np.ndarray:
    """The rows a long trace keeps: ``thin_index``, plus, where the optimum is known, the
    first row at or below each of COCO's precision targets ``f_opt + PRECISIONS``."""
    n = len(best_loss)
    keep = thin_index(n, max_rows)
    if f_opt is None or n <= max_rows:
        return keep
    crossings = first_reached(np.asarray(best_loss, dtype=float), f_opt + PRECISIONS)
    return np.union1d(keep, crossings[crossings < n])


def thin_index(n: int, max_rows: int = MAX_TRACE_ROWS) -> np.ndarray:
    """At most about ``max_rows`` of ``n`` row indices: evenly spaced and log-spaced, first
    and last kept, so both the early descent and the long tail stay visible."""
    if n <= max_rows:
        return np.arange(n)
    half = max_rows // 2
    linear = np.linspace(0, n - 1, half)
    logarithmic = np.geomspace(1, n, half) - 1
    return np.unique(np.concatenate([linear, logarithmic, [0, n - 1]]).round().astype(int))


def _message(status: Status, nit: int, nfev: int) -> str:
    if status is Status.DIVERGED:
        return f"loss became non-finite or exploded at step {nit}"
    if status is Status.TARGET_REACHED:
        return f"target reached at step {nit}"
    if status is Status.CONVERGED:
        return f"converged at step {nit}"
    if status is Status.MAX_STEPS:
        return f"step budget spent ({nit} steps)"
    if status is Status.MAX_EVALS:
        return f"evaluation budget spent ({nfev} evaluations)"
    if status is Status.MAX_EPOCHS:
        return f"epoch budget spent after {nit} steps ({nfev} evaluations)"
    return f"time budget spent after {nit} steps"
