"""Convergence plots: median and quartile band over seeds, one line per optimizer."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from optbench.errors import OptbenchError

X_AXES = {"steps": ("step", "steps"), "evals": ("nfev", "function evaluations"), "time": ("time_s", "time (s)")}


def convergence(runs: pd.DataFrame, traces: pd.DataFrame, problem: str, x: str = "steps") -> Any:
    """A matplotlib figure of loss (or suboptimality, when the optimum is known) against
    steps, evaluations or time for every optimizer configuration run on ``problem``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if x not in X_AXES:
        raise OptbenchError(f"unknown x axis {x!r}; choose one of {', '.join(X_AXES)}")
    column, xlabel = X_AXES[x]
    mine = runs[(runs["problem"] == problem) & (runs["status"] != "skipped") & (runs["status"] != "failed")]
    if mine.empty:
        raise OptbenchError(f"no finished runs of {problem!r} to plot")
    f_opt = mine["f_opt"].dropna()
    known = not f_opt.empty
    fig, ax = plt.subplots(figsize=(7, 4.5), layout="constrained")
    for optimizer, group in mine.groupby("optimizer", sort=False):
        curves = [
            _curve(traces[traces["run_id"] == rid], column, row.f_opt if known else None, row.status)
            for rid, row in zip(group["run_id"], group.itertuples())
        ]
        grid, values = _on_grid(curves)
        if grid.size == 0:
            continue
        with warnings.catch_warnings():  # grid points that no run reaches are all-NaN columns
            warnings.simplefilter("ignore", RuntimeWarning)
            median = np.nanmedian(values, axis=0)
            low, high = np.nanquantile(values, [0.25, 0.75], axis=0)
        (line,) = ax.plot(grid, median, label=f"{optimizer} (n={len(group)})")
        ax.fill_between(grid, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("loss - optimum" if known else "loss")
    ax.set_yscale("log")
    if x != "time":
        ax.set_xscale("symlog", linthresh=1)
        ax.set_xlim(left=0)
    ax.set_title(f"{problem}: median and quartiles over seeds")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize="small")
    return fig


def _curve(trace: pd.DataFrame, column: str, f_opt: float | None, status: str) -> tuple[np.ndarray, np.ndarray, bool]:
    xs = trace[column].to_numpy(dtype=float)
    ys = trace["loss"].to_numpy(dtype=float)
    if f_opt is not None:
        # Below rounding error the distance to the optimum is noise; floor it for the log axis.
        ys = np.maximum(ys - f_opt, np.finfo(float).eps * max(abs(f_opt), 1e-300))
    ys = np.where(np.isfinite(ys), ys, np.nan)
    return xs, ys, status != "diverged"


def _on_grid(curves: list[tuple[np.ndarray, np.ndarray, bool]]) -> tuple[np.ndarray, np.ndarray]:
    """Each curve as a step function on the union of x values; a finished run keeps its
    last value to the end, a diverged one ends where it diverged."""
    curves = [c for c in curves if len(c[0])]
    if not curves:
        return np.array([]), np.empty((0, 0))
    grid = np.unique(np.concatenate([c[0] for c in curves]))
    if grid.size > 400:
        grid = np.unique(np.quantile(grid, np.linspace(0, 1, 400)))
    values = np.full((len(curves), grid.size), np.nan)
    for i, (xs, ys, carry_on) in enumerate(curves):
        index = np.searchsorted(xs, grid, side="right") - 1
        inside = (index >= 0) & ((grid <= xs[-1]) | carry_on)
        values[i, inside] = ys[index[inside]]
    return grid, values
