"""Pareto-front plots: the final fronts of several optimizers on one problem, with the
true front where it is known."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from optbench.errors import OptbenchError
from optbench.errors import OptbenchError as Error
from optbench.registry import REGISTRY

MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def front_plot(runs: pd.DataFrame, fronts: pd.DataFrame, problem: str, true_front: Any = None) -> Any:
    """A matplotlib figure of the final front of each optimizer configuration run on
    ``problem`` (two objectives): for each, the run whose hypervolume is the median over
    its seeds; the true front, when given, as a line."""
    mine = runs[(runs["problem"] == problem) & runs["run_id"].isin(fronts["run_id"].unique())]
    if mine.empty:
        raise OptbenchError(f"no stored Pareto fronts of {problem!r}; run a Pareto method (nsga2) on it first")
    fig, ax = plt.subplots(figsize=(6.5, 5), layout="constrained")
    if true_front is not None:
        ax.plot(true_front[:, 0], true_front[:, 1], ".", color="0.6", markersize=2, label="true front")
    for i, (optimizer, group) in enumerate(mine.groupby("optimizer", sort=False)):
        run = _median_run(group)
        points = fronts[fronts["run_id"] == run.run_id].sort_values("f1")
        hv = getattr(run, "hypervolume", float("nan"))
        ax.plot(
            points["f1"],
            points["f2"],
            MARKERS[i % len(MARKERS)],
            markersize=4,
            alpha=0.8,
            label=f"{optimizer} (seed {run.seed}, hv {hv:.4g}, {len(points)} points)",
        )
    ax.set_xlabel("objective 1")
    ax.set_ylabel("objective 2")
    ax.set_title(f"{problem}: final fronts (median-hypervolume seed)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    return fig


def _median_run(group: pd.DataFrame) -> Any:
    """The run whose hypervolume is the median of its group (lower middle for even sizes)."""
    if "hypervolume" not in group or group["hypervolume"].isna().all():
        return next(group.itertuples())
    ordered = group.sort_values("hypervolume", kind="stable")
    return list(ordered.itertuples())[(len(ordered) - 1) // 2]


def known_front(problem: str) -> np.ndarray | None:
    """The true front of a registered problem spec, or None where unknown or unbuildable."""
    try:
        return REGISTRY.problem(problem).true_front
    except Error:
        return None
