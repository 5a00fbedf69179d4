"""From the per-step records of a batch to one ``Result`` and trace per run."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from optbench.result import Result, Status

# Statuses where the run stops at the point it had just evaluated, without stepping on.
_STAYS = (Status.CONVERGED, Status.TARGET_REACHED, Status.DIVERGED)
MAX_TRACE_ROWS = 500



def build_results(
    *,
    chunks: list[tuple[np.ndarray, ...]],
    chunk_times: list[float],
    length: int,
    statuses: list[Status],
    final_loss: np.ndarray,
    final_metrics: dict[str, np.ndarray],
    params: Any,
    total_time: float,
    compile_s: float,
    target: float | None,
) -> list[Result]:
    """One Result per batch member from the records of every chunk.

    Times inside a chunk are interpolated between the chunk's measured start and end, and
    shared evenly among the batch's members.
    """
    import jax

    loss, nfev, njev, running = (np.concatenate([c[i] for c in chunks]) for i in range(4))
    size = loss.shape[1]
    starts = np.concatenate([[0.0], chunk_times[:-1]])
    fraction = (np.arange(length) + 1) / length
    step_time = np.concatenate([s + (e - s) * fraction for s, e in zip(starts, chunk_times)]) / size
    results = []
    for b, status in enumerate(statuses):
        rows = running[:, b]
        trace = pd.DataFrame(
            {
                "step": np.arange(rows.sum()),
                "nfev": nfev[rows, b],
                "njev": njev[rows, b],
                "time_s": step_time[rows],
                "loss": loss[rows, b].astype(np.float64),
            }
        )
        nit = len(trace) - 1 if status in _STAYS else len(trace)
        if status not in _STAYS:
            last = trace.iloc[-1]
            trace.loc[len(trace)] = [nit, last.nfev, last.njev, total_time / size, float(final_loss[b])]
        trace["best_loss"] = np.fmin.accumulate(trace["loss"].to_numpy())
        for name, values in final_metrics.items():
            trace[name] = np.nan
            trace.loc[trace.index[-1], name] = float(values[b])
        hit = trace.index[trace["loss"] <= target] if target is not None else []
        results.append(
            Result(
                x=jax.tree_util.tree_map(lambda a, b=b: np.asarray(a[b]), params),
                fun=float(final_loss[b]),
                status=status,
                message=_message(status, nit, trace),
                nit=int(nit),
                nfev=int(trace["nfev"].iloc[-1]),
                njev=int(trace["njev"].iloc[-1]),
                time_s=total_time / size,
                compile_s=compile_s,
                trace=thin(trace).astype({"step": int, "nfev": int, "njev": int}),
                nfev_to_target=float(trace.loc[hit[0], "nfev"]) if len(hit) else float("nan"),
                time_to_target=float(trace.loc[hit[0], "time_s"]) if len(hit) else float("nan"),
                batch_size=size,
            )
        )
    return results


def thin(trace: pd.DataFrame, max_rows: int = MAX_TRACE_ROWS) -> pd.DataFrame:
    """At most about ``max_rows`` rows: evenly spaced and log-spaced steps, first and last kept."""
    n = len(trace)
    if n <= max_rows:
        return trace.reset_index(drop=True)
    half = max_rows // 2
    linear = np.linspace(0, n - 1, half)
    logarithmic = np.geomspace(1, n, half) - 1
    keep = np.unique(np.concatenate([linear, logarithmic, [0, n - 1]]).round().astype(int))
    return trace.iloc[keep].reset_index(drop=True)


def _message(status: Status, nit: int, trace: pd.DataFrame) -> str:
    if status is Status.DIVERGED:
        return f"loss became non-finite or exploded at step {nit}"
    if status is Status.TARGET_REACHED:
        return f"target reached at step {nit}"
    if status is Status.CONVERGED:
        return f"converged at step {nit}"
    if status is Status.MAX_STEPS:
        return f"step budget spent ({nit} steps)"
    if status is Status.MAX_EVALS:
        return f"evaluation budget spent ({int(trace['nfev'].iloc[-1])} evaluations)"
    return f"time budget spent after {nit} steps"


