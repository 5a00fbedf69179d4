"""From the per-step records of a batch to one ``Result`` and trace per run."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from optbench.result import Front, Result, Status

# Statuses where the run stops at the point it had just evaluated, without stepping on.
_STAYS = (Status.CONVERGED, Status.TARGET_REACHED, Status.DIVERGED)
MAX_TRACE_ROWS = 500
# COCO's precision targets, f - f_opt <= 10**k for k = 2, 1.8, ..., -8. Where the optimum
# is known, a thinned trace keeps the row at which each is first reached (COCO's
# target-triggered logging), so hitting times measured at them stay exact.
PRECISIONS = 10.0 ** (np.arange(10, -41, -1) / 5)


def build_results(
    *,
    chunks: list[tuple[np.ndarray, ...]],
    chunk_times: list[float],
    chunk_steps: list[int],
    scheduled_metrics: list[tuple[np.ndarray, dict[str, np.ndarray]]] = (),
    epochs_per_evaluation: float = 1.0,
    statuses: list[Status],
    final_loss: np.ndarray,
    final_metrics: dict[str, np.ndarray],
    final_indicators: dict[str, np.ndarray] | None = None,
    fronts: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    params: Any,
    total_time: float,
    compile_s: float,
    target: float | None,
    f_opt: float | None = None,
) -> list[Result]:
    """One Result per batch member from the records of every chunk.

    ``chunk_steps`` says how many steps each chunk ran; ``scheduled_metrics`` holds, per
    chunk, the trace rows (steps) at which the problem's metrics were taken during the run
    and their values (row, batch member); epochs are nfev times ``epochs_per_evaluation``.
    Times inside a chunk are interpolated between the chunk's measured start and end, and
    shared evenly among the batch's members. A solver's indicators (recorded per step, the
    fifth record of a chunk) become trace columns and, at the end, entries of ``metrics``;
    ``fronts`` (objectives, parameters, non-dominated mask per member) become ``Result.front``.
    ``f_opt``, where known, sets the precision targets whose first crossings the trace keeps.
    """
    import jax

    loss, nfev, njev, running = (np.concatenate([c[i][:n] for c, n in zip(chunks, chunk_steps)]) for i in range(4))
    final_indicators = final_indicators or {}
    per_step = {k: np.concatenate([c[4][k][:n] for c, n in zip(chunks, chunk_steps)]) for k in final_indicators}
    during = _metrics_during(scheduled_metrics)
    size = loss.shape[1]
    starts = np.concatenate([[0.0], chunk_times[:-1]])
    step_time = (
        np.concatenate([s + (e - s) * (np.arange(n) + 1) / n for s, e, n in zip(starts, chunk_times, chunk_steps)])
        / size
    )
    results = []
    for b, status in enumerate(statuses):
        rows = running[:, b]
        columns = {
            "nfev": nfev[rows, b].astype(np.int64),
            "njev": njev[rows, b].astype(np.int64),
            "epochs": nfev[rows, b] * epochs_per_evaluation,
            "time_s": step_time[rows],
            "loss": loss[rows, b].astype(np.float64),
            **{k: v[rows, b].astype(np.float64) for k, v in per_step.items()},
        }
        nit = len(columns["loss"]) - 1 if status in _STAYS else len(columns["loss"])
        if status not in _STAYS:  # the final point, after the last step, was not evaluated in the loop
            extra = {
                "nfev": columns["nfev"][-1],
                "njev": columns["njev"][-1],
                "epochs": columns["epochs"][-1],
                "time_s": total_time / size,
                "loss": float(final_loss[b]),
                **{k: float(v[b]) for k, v in final_indicators.items()},
            }
            columns = {k: np.append(v, extra[k]) for k, v in columns.items()}
        columns["best_loss"] = np.fmin.accumulate(columns["loss"])
        steps = np.arange(len(columns["loss"]))
        hit = np.flatnonzero(columns["loss"] <= target) if target is not None else []
        last = len(steps) - 1
        measured = {}  # metric name -> values per trace row: during the run, then at the end
        for name, values in final_metrics.items():
            column = np.full(len(steps), np.nan)
            at, during_values = during.get(name, (np.zeros(0, int), np.zeros((0, size))))
            inside = at < last
            column[at[inside]] = during_values[inside, b]
            column[last] = float(values[b])
            measured[name] = column
        taken = during.get("", np.zeros(0, int))
        taken = taken[taken < last]
        keep = np.union1d(kept_rows(columns["best_loss"], f_opt), taken[thin_index(len(taken))])
        trace = pd.DataFrame({"step": steps[keep], **{k: v[keep] for k, v in {**columns, **measured}.items()}})
        results.append(
            Result(
                x=jax.tree_util.tree_map(lambda a, b=b: np.asarray(a[b]), params),
                fun=float(final_loss[b]),
                status=status,
                message=_message(status, nit, int(columns["nfev"][-1])),
                nit=int(nit),
                nfev=int(columns["nfev"][-1]),
                njev=int(columns["njev"][-1]),
                time_s=total_time / size,
                compile_s=compile_s,
                trace=trace,
                nfev_to_target=float(columns["nfev"][hit[0]]) if len(hit) else float("nan"),
                time_to_target=float(columns["time_s"][hit[0]]) if len(hit) else float("nan"),
                batch_size=size,
                metrics={name: float(values[b]) for name, values in {**final_metrics, **final_indicators}.items()},
                front=None if fronts is None else front_of(*(a[b] for a in fronts)),
                success=status.success and (target is None or float(final_loss[b]) <= target),
            )
        )
    return results


def front_of(objectives: np.ndarray, params: np.ndarray, nondominated: np.ndarray) -> Front:
    """The non-dominated members of a final population, each distinct objective vector once."""
    objectives, params = np.asarray(objectives, np.float64), np.asarray(params, np.float64)
    keep = np.asarray(nondominated, bool) & np.isfinite(objectives).all(axis=1)
    _, first = np.unique(objectives[keep], axis=0, return_index=True)
    chosen = np.flatnonzero(keep)[np.sort(first)]
    order = chosen[np.argsort(objectives[chosen, 0], kind="stable")]
    return Front(objectives[order], params[order])


def _metrics_during(scheduled: list[tuple[np.ndarray, dict[str, np.ndarray]]]) -> dict[str, Any]:
    """Metric name -> (trace rows, values per row and batch member), only where taken;
    under "" the rows themselves, which thinning must keep."""
    rows, values = [], {}
    for at, metrics in scheduled:
        if not metrics:
            continue
        taken = ~np.isnan(next(iter(metrics.values()))).all(axis=1)
        rows.append(at[taken])
        for name, v in metrics.items():
            values.setdefault(name, []).append(v[taken])
    if not rows:
        return {}
    at = np.concatenate(rows)
    return {"": at, **{name: (at, np.concatenate(v)) for name, v in values.items()}}


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
    return f"time budget spent after {nit} steps"
