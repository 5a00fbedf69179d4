"""Fixed-target views: expected running time and runtime distributions (ECDFs).

Both start from ``hitting_times`` (one row per run and target).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

GROUP = ("problem", "config", "kind", "level")


def ert(hits: pd.DataFrame, by: Sequence[str] = GROUP) -> pd.DataFrame:
    """Expected running time (COCO's aRT) per group of runs and target.

    ``ERT = (sum of the hitting times of the runs that reached the target + sum of the
    costs spent by those that did not) / number that reached it``; infinite when none
    did. Columns: the ``by`` keys, ``n_runs``, ``n_success``, ``success_rate``, ``ert``.

    Reference: Hansen, Auger, Brockhoff and Tušar, "Anytime performance assessment in
    blackbox optimization benchmarking", IEEE TEVC 26(6), 2022, section 4 (aRT); Price,
    "Differential evolution vs. the functions of the 2nd ICEO", 1997.
    """
    paid = np.where(hits["hit"], hits["cost"], hits["spent"])
    grouped = hits.assign(_paid=paid, _hit=hits["hit"].astype(int)).groupby(list(by), sort=False)
    table = grouped.agg(n_runs=("_hit", "size"), n_success=("_hit", "sum"), _paid=("_paid", "sum")).reset_index()
    with np.errstate(divide="ignore", invalid="ignore"):
        table["ert"] = np.where(table["n_success"] > 0, table["_paid"] / table["n_success"], np.inf)
    table["success_rate"] = table["n_success"] / table["n_runs"]
    return table.drop(columns="_paid")


def runtime_ecdf(hits: pd.DataFrame, grid: Sequence[float] | None = None, by: str = "config") -> pd.DataFrame:
    """The empirical distribution of runtimes, aggregated over problems and targets.

    For each ``by`` group (an optimizer configuration), the fraction of its (run, target)
    pairs reached at a cost of at most x, for x on ``grid`` (default: 200 points spaced
    evenly in log scale from the smallest hitting time to the largest cost spent). A run
    that never reaches a target adds to the denominator only: the curve ends below 1.
    Columns: ``by``, ``cost``, ``fraction``.

    Reference: COCO's runtime distributions (Hansen et al. 2022, section 5), without
    simulated restarts; IOHprofiler's fixed-target ECDF (Doerr et al., arXiv:1810.05281).
    """
    if grid is None:
        grid = default_grid(hits)
    grid = np.asarray(grid, dtype=float)
    parts = []
    for name, group in hits.groupby(by, sort=False):
        reached = np.sort(group.loc[group["hit"], "cost"].to_numpy(dtype=float))
        fraction = np.searchsorted(reached, grid, side="right") / len(group)
        parts.append(pd.DataFrame({by: name, "cost": grid, "fraction": fraction}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[by, "cost", "fraction"])


def default_grid(hits: pd.DataFrame, points: int = 200) -> np.ndarray:
    """Costs spaced evenly in log scale over what the runs hit and spent."""
    reached = hits.loc[hits["hit"], "cost"]
    low = reached[reached > 0].min() if (reached > 0).any() else 1.0
    high = max(hits["spent"].max(), low) if len(hits) else low
    return np.geomspace(low, high if high > low else low * 10, points)
