"""Convergence plots: median and quartile band over seeds, one line per optimizer
configuration, or one per value of a hyperparameter (``hue``)."""

from __future__ import annotations

import json
import warnings
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.cm import ScalarMappable
from matplotlib.colors import ListedColormap, LogNorm, Normalize

from optbench.analysis.selection import ensure_configs
from optbench.analysis.styles import distinct_styles, panels
from optbench.analysis.targets import COST_LABELS, cost_column, finished, run_slices
from optbench.analysis.tick_labels import plain_powers
from optbench.errors import OptbenchError

LINESTYLES = ("-", "--", ":", "-.")


def default_axis(runs: pd.DataFrame) -> str:
    """``evals`` where the configurations plotted together differ in evaluations per step
    by more than 2x (a ``ga`` step is a whole population), else ``steps``."""
    ran = runs[~runs["status"].isin(["skipped", "failed"])]
    if ran.empty:
        return "steps"
    per_step = (ran["nfev"] / ran["nit"].clip(lower=1)).groupby(ran["optimizer"]).median()
    return "evals" if per_step.max() > 2 * per_step.min() else "steps"


def convergence(
    runs: pd.DataFrame,
    traces: pd.DataFrame,
    problem: str,
    x: str = "steps",
    hue: str | None = None,
    metric: str | None = None,
) -> Any:
    """A matplotlib figure of loss (or suboptimality, when the optimum is known) against
    steps, evaluations, gradient evaluations, epochs or time (``x``, a cost axis of
    ``optbench.analysis.targets.COST_AXES``) for every configuration run on ``problem``:
    the median over seeds and the band between the quartiles. Every configuration has a
    style of its own; more than ten are drawn in panels, one per optimizer family.

    With ``hue`` (a hyperparameter such as ``learning_rate``) there is a panel per optimizer,
    its lines coloured by the value along one colour scale, shown beside the panels (for
    any number of values, where a legend would cover the axes). A run that diverged ends
    with a cross where it diverged, instead of vanishing from the plot.

    With ``metric`` (a recorded trace column such as ``test_accuracy``) that metric is
    drawn instead of the loss, as recorded: on a linear axis for accuracies and values
    that are not all positive, else on a log axis."""
    column, xlabel = cost_column(x), COST_LABELS[x]
    runs = ensure_configs(runs)
    mine = runs[(runs["problem"] == problem) & ~runs["status"].isin(["skipped", "failed"])]
    if mine.empty:
        raise OptbenchError(f"no finished runs of {problem!r} to plot")
    mine, traces = finished(mine, traces)
    if metric is not None and (metric not in traces or traces[metric].isna().all()):
        found = traces.columns[traces.notna().any()]
        recorded = sorted(set(found) - {"run_id", "step", "nfev", "njev", "time_s", "epochs", "best_loss"})
        raise OptbenchError(f"no run of {problem!r} recorded {metric!r}; recorded: {', '.join(recorded)}")
    known = metric is None and mine["f_opt"].notna().any()
    # Pareto runs: their loss is minus the hypervolume; without a known front the
    # hypervolume itself is drawn, on a linear axis.
    pareto = "hypervolume" in traces and traces["hypervolume"].notna().any()
    value = metric or ("hypervolume" if pareto and not known else "loss")
    linear = value == "hypervolume" or (
        metric is not None and ("accuracy" in metric or not (traces[metric].dropna() > 0).all())
    )
    if hue is None:
        configs = dict(zip(mine["config"], mine["optimizer_name"]))
        groups = panels(configs)
        styles = {c: (c, s) for part in groups.values() for c, s in distinct_styles(part).items()}
    else:
        styles, scale = _styles(mine, hue)
        name_of = mine.drop_duplicates("config").set_index("config")["optimizer_name"]
        groups = {}
        for config in styles:
            groups.setdefault(name_of[config], []).append(config)
    n = len(groups)
    ncols = min(n, 3)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(7 if n == 1 else 5.2 * ncols, 4.5 if n == 1 else 3.9 * nrows),
        layout="constrained",
        sharex=True,
        sharey=True,
        squeeze=False,
    )
    where = run_slices(traces)
    xs, ys = traces[column].to_numpy(dtype=float), traces[value].to_numpy(dtype=float)
    curves = {
        config: [
            _curve(xs[where[r]], ys[where[r]], f if known else None, status)
            for r, f, status in zip(group["run_id"], group["f_opt"], group["status"])
        ]
        for config, group in mine.groupby("config", sort=False)
    }
    starts = [v[np.isfinite(v)][:1] for c in curves.values() for _, v, _ in c]
    top = None
    if value == "loss" and starts and np.concatenate(starts).size:
        top = 100 * np.max(np.concatenate(starts))
    for ax in axes.flat[:n]:
        ax.set_yscale("linear" if linear else "log")
    diverged = False
    for ax, (title, members) in zip(axes.flat, groups.items()):
        diverged |= _draw_panel(ax, [m for m in members if m in curves], curves, styles, mine, hue, top)
        ax.set_title(title, fontsize="medium")
    if diverged and top is not None:  # after every panel is drawn: the bottom fits them all
        axes.flat[0].set_ylim(top=top)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    if hue is not None:
        fig.colorbar(scale, ax=list(axes.flat[:n]), label=hue, shrink=0.9)
    for ax in axes.flat[:n]:
        ax.grid(True, which="major", alpha=0.3)
        if x != "time":
            ax.set_xscale("symlog", linthresh=1)
            ax.set_xlim(left=0)
    labels = {"loss": "loss - optimum" if known else "loss", "hypervolume": "hypervolume (higher is better)"}
    fig.supxlabel(xlabel, fontsize="medium")
    ylabel = "hypervolume gap to the true front" if pareto and known else labels.get(value, value)
    fig.supylabel(ylabel, fontsize="medium")
    fig.suptitle(f"{problem}: median and quartiles over seeds" + (" (x: diverged)" if diverged else ""))
    return plain_powers(fig)


def _draw_panel(
    ax: Any, members: list[str], curves: dict, styles: dict, runs: pd.DataFrame, hue: Any, top: Any
) -> bool:
    """Median lines and quartile bands of the ``members``; crosses where runs diverged."""
    crosses = []
    counts = runs["config"].value_counts()
    for config in members:
        grid, values = _on_grid(curves[config])
        if grid.size == 0:
            continue
        with warnings.catch_warnings():  # grid points that no run reaches are all-NaN columns
            warnings.simplefilter("ignore", RuntimeWarning)
            median = np.nanmedian(values, axis=0)
            low, high = np.nanquantile(values, [0.25, 0.75], axis=0)
        label, style = styles[config]
        label = f"{label} (n={counts[config]})"
        (line,) = ax.plot(grid, median, label=label, **style)
        color = line.get_color()
        ax.fill_between(grid, low, high, color=color, alpha=0.15 if hue else 0.2, linewidth=0, label=f"_band {label}")
        for xs, ys, carry_on in curves[config]:
            end = np.flatnonzero(np.isfinite(ys))
            if not carry_on and len(end):  # diverged: a cross at its last finite point
                crosses.append((xs[end[-1]], ys[end[-1]], color, label))
    # A diverged run must not squash the others: the y axis stops at 100x the highest
    # starting value, and a cross beyond that sits on the top edge.
    for x_end, y_end, color, label in crosses:
        y = y_end if top is None else min(y_end, top)
        ax.plot(x_end, y, "x", color=color, markersize=8, mew=2, clip_on=False, label=f"_cross {label}")
    if members and not hue:  # with a hue, the colour scale says which line is which
        ax.legend(fontsize="x-small" if len(members) > 6 else "small")
    return bool(crosses)


def _styles(runs: pd.DataFrame, hue: str) -> tuple[dict[str, tuple[str, dict[str, Any]]], Any]:
    """Config -> (label, line style) for the configurations that have ``hue``: a colour per
    value along a colour scale (logarithmic for positive values), a line style per budget;
    and the scale, for its colour bar."""
    configs = runs.drop_duplicates("config")
    values = {row.config: json.loads(row.params).get(hue) for row in configs.itertuples()}
    values = {k: v for k, v in values.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    if not values:
        raise OptbenchError(f"no optimizer run on this problem has a numeric hyperparameter {hue!r}")
    numbers = np.array(list(values.values()), dtype=float)
    low, high = numbers.min(), numbers.max()
    norm = (
        LogNorm(low, high) if 0 < low < high else Normalize(low, high) if low < high else Normalize(low - 1, high + 1)
    )
    cmap = ListedColormap(matplotlib.colormaps["viridis"](np.linspace(0, 0.9, 256)))  # without the palest yellow
    name_of = configs.set_index("config")["optimizer_name"]
    budget_of = configs.set_index("config")["budget_label"]
    budgets = list(dict.fromkeys(budget_of[list(values)]))
    styles = {}
    for config, value in sorted(values.items(), key=lambda item: item[1]):
        style = {
            "color": cmap(norm(value)),
            "linestyle": LINESTYLES[budgets.index(budget_of[config]) % len(LINESTYLES)],
        }
        budget = "" if len(budgets) == 1 else f" ({budget_of[config]})"
        styles[config] = (f"{name_of[config]} {hue}={value:.3g}{budget}", style)
    return styles, ScalarMappable(norm, cmap)


def _curve(xs: np.ndarray, ys: np.ndarray, f_opt: float | None, status: str) -> tuple[np.ndarray, np.ndarray, bool]:
    measured = ~np.isnan(ys)  # a minibatch method's full loss is measured every so many steps
    xs, ys = xs[measured], ys[measured]
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
