"""Convergence plots: median and quartile band over seeds, one line per optimizer
configuration, or one per value of a hyperparameter (``hue``)."""

from __future__ import annotations

import json
import warnings
from typing import Any

import numpy as np
import pandas as pd

from optbench.errors import OptbenchError

X_AXES = {
    "steps": ("step", "steps"),
    "evals": ("nfev", "function evaluations"),
    "epochs": ("epochs", "epochs (passes over the training data)"),
    "time": ("time_s", "time (s)"),
}
LINESTYLES = ("-", "--", ":", "-.")


def convergence(
    runs: pd.DataFrame, traces: pd.DataFrame, problem: str, x: str = "steps", hue: str | None = None
) -> Any:
    """A matplotlib figure of loss (or suboptimality, when the optimum is known) against
    steps, evaluations, epochs or time for every optimizer configuration run on ``problem``.

    With ``hue`` (a hyperparameter such as ``learning_rate``) the lines are coloured along
    a colour scale by its value, one line style per optimizer. A run that diverged ends
    with a cross where it diverged, instead of vanishing from the plot."""
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
    # Pareto runs: their loss is minus the hypervolume; without a known front the
    # hypervolume itself is drawn, on a linear axis.
    pareto = "hypervolume" in traces and traces.loc[traces["run_id"].isin(mine["run_id"]), "hypervolume"].notna().any()
    value = "hypervolume" if pareto and not known else "loss"
    fig, ax = plt.subplots(figsize=(7, 4.5), layout="constrained")
    ax.set_yscale("linear" if value == "hypervolume" else "log")
    styles = _styles(mine, hue)
    crosses, starts = [], []
    for optimizer, group in mine.groupby("optimizer", sort=False):
        if optimizer not in styles:
            continue
        curves = [
            _curve(traces[traces["run_id"] == rid], column, row.f_opt if known else None, row.status, value)
            for rid, row in zip(group["run_id"], group.itertuples())
        ]
        grid, values = _on_grid(curves)
        if grid.size == 0:
            continue
        with warnings.catch_warnings():  # grid points that no run reaches are all-NaN columns
            warnings.simplefilter("ignore", RuntimeWarning)
            median = np.nanmedian(values, axis=0)
            low, high = np.nanquantile(values, [0.25, 0.75], axis=0)
        label, style = styles[optimizer]
        (line,) = ax.plot(grid, median, label=f"{label} (n={len(group)})", **style)
        starts.append(median[np.isfinite(median)][:1])
        ax.fill_between(grid, low, high, color=line.get_color(), alpha=0.15 if hue else 0.2, linewidth=0)
        for xs, ys, finished in curves:
            end = np.flatnonzero(np.isfinite(ys))
            if not finished and len(end):  # diverged: a cross at its last finite point
                crosses.append((xs[end[-1]], ys[end[-1]], line.get_color()))
    # A diverged run must not squash the others: the y axis stops at 100x the highest
    # starting value, and a cross beyond that sits on the top edge.
    top = 100 * np.max(np.concatenate(starts)) if starts and np.concatenate(starts).size and value == "loss" else None
    bottom = min(ax.get_ylim()[0], top or np.inf)
    for x_end, y_end, color in crosses:
        ax.plot(x_end, y_end if top is None else min(y_end, top), "x", color=color, markersize=8, mew=2, clip_on=False)
    if crosses and top is not None:
        ax.set_ylim(bottom, top)
    ax.set_xlabel(xlabel)
    labels = {"loss": "loss - optimum" if known else "loss", "hypervolume": "hypervolume (higher is better)"}
    ax.set_ylabel("hypervolume gap to the true front" if pareto and known else labels[value])
    if x != "time":
        ax.set_xscale("symlog", linthresh=1)
        ax.set_xlim(left=0)
    ax.set_title(f"{problem}: median and quartiles over seeds" + (" (x: diverged)" if crosses else ""))
    ax.grid(True, which="major", alpha=0.3)
    if len(styles) > 8:  # a long legend goes beside the axes, not over the curves
        fig.set_size_inches(11, 5)
        fig.legend(loc="outside right upper", fontsize="x-small")
    else:
        ax.legend(fontsize="small")
    return fig


def _styles(runs: pd.DataFrame, hue: str | None) -> dict[str, tuple[str, dict[str, Any]]]:
    """Optimizer configuration -> (legend label, line style). Without ``hue``, matplotlib's
    colour cycle; with it, a colour per value along a colour scale (log scale for positive
    values), a line style per optimizer, and only the configurations that have ``hue``."""
    configs = runs.drop_duplicates("optimizer")
    if hue is None:
        return {name: (name, {}) for name in configs["optimizer"]}
    import matplotlib

    values = {row.optimizer: json.loads(row.params).get(hue) for row in configs.itertuples()}
    values = {k: v for k, v in values.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    if not values:
        raise OptbenchError(f"no optimizer run on this problem has a numeric hyperparameter {hue!r}")
    numbers = np.array(list(values.values()), dtype=float)
    scale = np.log10 if (numbers > 0).all() else (lambda v: v)
    low, high = scale(numbers.min()), scale(numbers.max())
    cmap = matplotlib.colormaps["viridis"]
    name_of = configs.set_index("optimizer")["optimizer_name"]
    names = list(dict.fromkeys(name_of[list(values)]))
    styles = {}
    for optimizer, value in sorted(values.items(), key=lambda item: item[1]):
        name = name_of[optimizer]
        where = 0.5 if high == low else (scale(value) - low) / (high - low)
        style = {"color": cmap(0.9 * where), "linestyle": LINESTYLES[names.index(name) % len(LINESTYLES)]}
        styles[optimizer] = (f"{name} {hue}={value:.3g}", style)
    return styles


def _curve(
    trace: pd.DataFrame, column: str, f_opt: float | None, status: str, value: str = "loss"
) -> tuple[np.ndarray, np.ndarray, bool]:
    xs = trace[column].to_numpy(dtype=float)
    ys = trace[value].to_numpy(dtype=float)
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
