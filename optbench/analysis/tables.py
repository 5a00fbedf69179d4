"""Summary tables: per problem and comparable optimizer configuration, statistics over seeds."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd

from optbench.analysis.selection import ensure_configs, with_configs
from optbench.registry import natural_key
from optbench.store import DERIVED_COLUMNS, RUN_COLUMNS

SUCCESS_RULE = (
    "target: the budget's target loss when given, else f_opt + 1e-6*|f_opt| + 1e-12 where the optimum is known.\n"
    "ok: runs that stopped by converging or by reaching the target, and ended at or below it (a run that spends "
    "its budget is not ok, as in scipy.optimize); reached: runs whose loss reached the target at some point; "
    "to target: their median evaluations to it"
)


def summary(runs: pd.DataFrame, by: Iterable[str] = ()) -> pd.DataFrame:
    """One row per (problem, comparable configuration): runs, successes, statuses, final
    loss quartiles, suboptimality where the optimum is known, evaluations and time (to
    target), compile time, the problem's metrics, and the target that counted as success.

    Runs pool only when they share the problem, the optimizer configuration and the
    budget (see ``with_configs``; ``by`` adds provenance columns to that key)."""
    runs = with_configs(runs, by) if by else ensure_configs(runs)
    metrics = metric_columns(runs)
    rows = []
    for (problem, config), group in runs.groupby(["problem", "config"], sort=False):
        ran = group[group["status"] != "skipped"]
        fun = ran["fun"].astype(float)
        subopt = fun - ran["f_opt"].astype(float)
        counts = group["status"].value_counts()
        rows.append(
            {
                "problem": problem,
                "optimizer": config,
                "budget": group["budget_label"].iloc[0] if "budget_label" in group else "",
                "n_runs": len(group),
                "n_skipped": int((group["status"] == "skipped").sum()),
                "n_success": int(group["success"].sum()),
                "statuses": ", ".join(f"{n} {status}" for status, n in counts.items()),
                "target": _quantile(ran["target"], 0.5) if "target" in ran else math.nan,
                "fun_median": _quantile(fun, 0.5),
                "fun_q25": _quantile(fun, 0.25),
                "fun_q75": _quantile(fun, 0.75),
                "fun_best": float(fun.min()) if fun.notna().any() else math.nan,
                # Beside the training loss: the problem's own scores (test accuracy, LRE).
                **{f"{m}_median": _quantile(ran[m], 0.5) for m in metrics},
                "subopt_median": _quantile(subopt, 0.5),
                "nfev_median": _quantile(ran["nfev"], 0.5),
                "time_s_median": _quantile(ran["time_s"], 0.5),
                "n_target": int(ran["nfev_to_target"].notna().sum()),
                "nfev_to_target_median": _quantile(ran["nfev_to_target"], 0.5),
                "time_to_target_median": _quantile(ran["time_to_target"], 0.5),
                "compile_s_median": _quantile(ran["compile_s"], 0.5),
            }
        )
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    place = {name: i for i, name in enumerate(sorted(set(table["problem"]), key=natural_key))}  # bbob_f2 before f15
    table = table.assign(_order=table["problem"].map(place))
    table = table.sort_values(["_order", "fun_median"], na_position="last", kind="stable")
    return table.drop(columns="_order").reset_index(drop=True)


def metric_columns(runs: pd.DataFrame) -> list[str]:
    """The problem metrics stored with the runs (final test accuracy, LRE, ...)."""
    return [c for c in runs.columns if c not in RUN_COLUMNS and c not in DERIVED_COLUMNS]


def nist_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Per optimizer configuration, over the NIST StRD (problem, start) cases it ran: how
    many reach a minimum parameter LRE of 4, 6 and 8 (median over seeds; failed runs score 0)."""
    nist = runs[runs["problem_name"].str.startswith("nist_") & (runs["status"] != "skipped")]
    if nist.empty or "lre" not in nist:
        return pd.DataFrame()
    nist = ensure_configs(nist)
    cases = nist.assign(lre=nist["lre"].fillna(0.0)).groupby(["config", "problem"], sort=False)["lre"].median()
    rows = [
        {
            "optimizer": config,
            "cases": len(scores),
            "lre_ge_4": int((scores >= 4).sum()),
            "lre_ge_6": int((scores >= 6).sum()),
            "lre_ge_8": int((scores >= 8).sum()),
            "lre_median": float(scores.median()),
        }
        for config, scores in cases.groupby(level="config", sort=False)
    ]
    return pd.DataFrame(rows).sort_values(["lre_ge_6", "lre_ge_4"], ascending=False).reset_index(drop=True)


def _quantile(values: pd.Series, q: float) -> float:
    finite = values.astype(float).dropna()
    return float(np.quantile(finite, q)) if len(finite) else math.nan
