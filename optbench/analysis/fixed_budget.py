"""Fixed-budget view: the best loss each run had reached when it had spent a given cost."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from optbench.analysis.targets import cost_column, finished, run_slices


def best_at_budgets(
    runs: pd.DataFrame, traces: pd.DataFrame, budgets: Sequence[float] | None = None, cost: str = "evals"
) -> pd.DataFrame:
    """One row per (run, budget): the run's ``problem``, ``config`` and ``seed``, the
    ``budget`` (a cost on the ``cost`` axis), ``best_loss``, the best loss so far among the
    trace rows at or below that cost (NaN before the first row), and ``gap``, its distance
    to the known optimum (NaN where unknown). A run that stopped early keeps its last best
    loss at larger budgets.

    ``budgets`` defaults to ``default_budgets``. Reference: the fixed-budget view of
    IOHprofiler (Doerr et al., arXiv:1810.05281, section 3.2).
    """
    column = cost_column(cost)
    runs, traces = finished(runs, traces)
    if budgets is None:
        budgets = default_budgets(traces[column])
    budgets = np.asarray(budgets, dtype=float)
    where = run_slices(traces)
    best, costs = traces["best_loss"].to_numpy(dtype=float), traces[column].to_numpy(dtype=float)
    values = np.full((len(where), len(budgets)), np.nan)
    for i, rows in enumerate(where.values()):
        last = np.searchsorted(costs[rows], budgets, side="right") - 1
        values[i, last >= 0] = best[rows][last[last >= 0]]
    info = runs.set_index("run_id").loc[list(where), ["problem", "config", "seed", "f_opt"]].reset_index()
    table = info.loc[info.index.repeat(len(budgets))].reset_index(drop=True)
    table["budget"] = np.tile(budgets, len(where))
    table["best_loss"] = values.ravel()
    table["gap"] = table["best_loss"] - table.pop("f_opt")
    return table


def fixed_budget_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per problem, config and budget: runs, and the median and quartiles of the best loss
    (and of the gap to the optimum where known) over the runs."""
    grouped = table.groupby(["problem", "config", "budget"], sort=False)
    summary = grouped.agg(
        n_runs=("best_loss", "size"),
        best_loss_q25=("best_loss", lambda v: v.quantile(0.25)),
        best_loss_median=("best_loss", "median"),
        best_loss_q75=("best_loss", lambda v: v.quantile(0.75)),
        gap_median=("gap", "median"),
    )
    return summary.reset_index()


def default_budgets(costs: pd.Series, powers: int = 4) -> np.ndarray:
    """The ``powers`` largest powers of ten up to the largest cost any run spent, and
    that largest cost itself."""
    high = float(costs.max()) if len(costs) and np.isfinite(costs.max()) and costs.max() > 0 else 1.0
    top = int(np.floor(np.log10(high) + 1e-12))
    budgets = [10.0**k for k in range(top - powers + 1, top + 1) if 10.0**k >= 1 or high < 1]
    return np.unique([*budgets, high])
