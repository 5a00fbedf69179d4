"""The tables behind ``optbench table --view``: each a DataFrame built from the stored
runs and traces by the analysis functions, with the terminal columns that show it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from optbench.analysis.fixed_budget import best_at_budgets
from optbench.analysis.fixed_target import ert
from optbench.analysis.formatting import count, number
from optbench.analysis.profiles import instance_costs, performance_profile, profile_score
from optbench.analysis.stats import Ranks, average_ranks, bootstrap_ci, pairwise_tests
from optbench.analysis.targets import finished, hitting_times, level_label, targets
from optbench.errors import OptbenchError

DISPLAY_LEVELS = {"precision": (1e0, 1e-2, 1e-4, 1e-6, 1e-8), "tau": (1e-1, 1e-3, 1e-5, 1e-7)}
DEFAULT_LEVEL = {"precision": 1e-6, "tau": 1e-3}


@dataclass(frozen=True)
class Options:
    """What a fixed-target view measures: the cost axis, the kind of targets, the one
    target level of profiles and tests (per kind when None) and the significance level."""

    cost: str = "evals"
    kind: str = "auto"
    level: float | None = None
    alpha: float = 0.05

    def level_of(self, kind: str) -> float:
        return DEFAULT_LEVEL[kind] if self.level is None else self.level


def hits_for(runs: pd.DataFrame, traces: pd.DataFrame, options: Options, levels: dict | None = None) -> pd.DataFrame:
    """Hitting times at the display levels (or ``levels`` per kind) and the options' level."""
    levels = levels or DISPLAY_LEVELS
    chosen = {k: sorted({*levels[k], options.level_of(k)}, reverse=True) for k in levels}
    table = targets(runs, traces, options.kind, precisions=chosen["precision"], taus=chosen["tau"])
    if table.empty:
        raise OptbenchError("no finished runs with a trace to measure (every run was skipped or failed)")
    return hitting_times(runs, traces, options.cost, table)


def reference_note(runs: pd.DataFrame, traces: pd.DataFrame, options: Options) -> str:
    """Which problems' targets are relative to the best loss found, and why."""
    runs, _ = finished(runs, traces)
    unknown = sorted(set(runs.loc[runs["f_opt"].isna(), "problem"]))
    if options.kind == "precision" or not unknown:
        return ""
    if options.kind == "tau":
        return "targets: More-Wild's test f(x0) - f(x) >= (1 - tau)(f(x0) - f_L); f_L is f_opt where known\n"
    return (
        f"no known optimum for {', '.join(unknown)}: their targets use More-Wild's test against f_L, "
        "the best loss any run of the comparison found (tau levels)\n"
    )


def ert_view(runs: pd.DataFrame, traces: pd.DataFrame, options: Options) -> pd.DataFrame:
    """ERT and success rate per problem, config and display level, with 95% percentile
    bootstrap intervals of the ERT over the runs."""
    hits = hits_for(runs, traces, options)
    table = ert(hits)
    low, high = [], []
    for _, group in hits.groupby(["problem", "config", "kind", "level"], sort=False):
        paid = np.where(group["hit"], group["cost"], group["spent"])
        interval = _ert_interval(paid, group["hit"].to_numpy())
        low.append(interval[0])
        high.append(interval[1])
    table["ert_ci_low"], table["ert_ci_high"] = low, high
    table["target"] = [level_label(k, v) for k, v in zip(table["kind"], table["level"])]
    return table.rename(columns={"config": "optimizer"})


def stats_view(runs: pd.DataFrame, traces: pd.DataFrame, options: Options) -> dict[str, pd.DataFrame]:
    """``medians``: per problem and config, the median final loss and the ERT at the
    options' level, each with a 95% bootstrap interval; ``tests``: pairwise Mann-Whitney
    tests (Holm-corrected per problem) on the final loss and on the hitting time (failures
    rank worst); ``ranks``: average ranks of the median final loss across problems, with
    Friedman's test in ``friedman``."""
    runs, traces = finished(runs, traces)
    hits = hits_for(runs, traces, options, levels={"precision": (), "tau": ()})
    hits = hits[[lvl == options.level_of(k) for k, lvl in zip(hits["kind"], hits["level"])]]
    final = runs[["problem", "config", "fun"]].rename(columns={"fun": "value"})
    reached = hits.assign(value=hits["cost"].where(hits["hit"], np.inf))
    label = {k: level_label(k, options.level_of(k)) for k in ("precision", "tau")}
    tests = pd.concat(
        [
            pairwise_tests(final, options.alpha, measure="final loss"),
            *(
                pairwise_tests(group, options.alpha, measure=f"{options.cost} to {label[kind]}")
                for kind, group in reached.groupby("kind")
            ),
        ],
        ignore_index=True,
    )
    medians = _medians(final, ert(hits), options)
    scores = medians.pivot_table(index="problem", columns="optimizer", values="final_median", sort=False)
    try:
        ranks = average_ranks(scores)
    except OptbenchError:
        ranks = Ranks(pd.Series(dtype=float, name="average_rank"), float("nan"), float("nan"), [])
    ranks_table = ranks.average.sort_values().rename_axis("optimizer").reset_index()
    ranks_table["problems"] = len(ranks.problems)
    significant = bool(ranks.p <= options.alpha)
    friedman = pd.DataFrame([{"statistic": ranks.statistic, "p": ranks.p, "significant": significant}])
    return {
        "medians": medians,
        "tests": tests.rename(columns={"a": "optimizer_a", "b": "optimizer_b"}),
        "ranks": ranks_table,
        "friedman": friedman,
    }


def profile_view(runs: pd.DataFrame, traces: pd.DataFrame, options: Options) -> pd.DataFrame:
    """Per config, over problem instances (problem, seed): the share solved at the
    options' level, the Dolan-Moré profile at tau = 1, 2 and 4, and AlgoPerf's score."""
    costs = profile_costs(runs, traces, options)
    rho = performance_profile(costs, [1.0, 2.0, 4.0, np.inf])
    table = pd.DataFrame(
        {
            "optimizer": costs.index,
            "instances": costs.shape[1],
            "solved": rho[np.inf].to_numpy(),
            "rho_1": rho[1.0].to_numpy(),
            "rho_2": rho[2.0].to_numpy(),
            "rho_4": rho[4.0].to_numpy(),
            "score": profile_score(costs).to_numpy(),
        }
    )
    return table.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)


def profile_costs(runs: pd.DataFrame, traces: pd.DataFrame, options: Options) -> pd.DataFrame:
    """The costs table of profiles: per config and instance, the cost to reach the level."""
    hits = hits_for(runs, traces, options, levels={"precision": (), "tau": ()})
    parts = [instance_costs(group, options.level_of(kind), kind) for kind, group in hits.groupby("kind", sort=False)]
    return pd.concat(parts, axis=1) if len(parts) > 1 else parts[0]


def fixed_budget_view(runs: pd.DataFrame, traces: pd.DataFrame, options: Options) -> pd.DataFrame:
    """Per problem and config, the median best loss (gap to the optimum where known) at
    budgets of 1, 10, 100, ... evaluations (or the chosen cost) and at the largest spent."""
    table = best_at_budgets(runs, traces, None, options.cost)
    table["value"] = table["gap"].fillna(table["best_loss"])
    wide = table.pivot_table(
        index=["problem", "config"], columns="budget", values="value", aggfunc="median", sort=False
    )
    wide.columns = [f"{options.cost}<={count(b) if b >= 1 else number(b, 3)}" for b in wide.columns]
    return wide.reset_index().rename(columns={"config": "optimizer"})


def power_note(tests: pd.DataFrame, alpha: float) -> str:
    """Where too few runs make a significant difference impossible, say so: with n and m
    runs the smallest two-sided Mann-Whitney p-value is 2 / C(n + m, n), and Holm's
    correction over k pairs asks for p <= alpha / k of the smallest."""
    from math import comb

    if tests.empty:
        return ""
    pairs = tests.groupby(["problem", "measure"]).size().max()
    n = int(min(tests["n_a"].min(), tests["n_b"].min()))
    smallest = 2.0 / comb(2 * n, n)
    if smallest <= alpha / pairs:
        return ""
    needed = next(k for k in range(n, 200) if 2.0 / comb(2 * k, k) <= alpha / pairs)
    return (
        f"With {n} runs per configuration no difference can be significant: the smallest p-value is "
        f"{smallest:.2g}, and Holm over {pairs} pairs needs {alpha / pairs:.2g}. Run at least {needed} seeds, "
        "or compare fewer configurations.\n"
    )


def _medians(final: pd.DataFrame, erts: pd.DataFrame, options: Options) -> pd.DataFrame:
    rows = []
    erts = erts.set_index(["problem", "config"])
    for (problem, config), group in final.groupby(["problem", "config"], sort=False):
        values = group["value"].dropna().to_numpy(dtype=float)
        low, high = bootstrap_ci(values) if len(values) > 1 and np.ptp(values) > 0 else (np.nan, np.nan)
        row = {
            "problem": problem,
            "optimizer": config,
            "runs": len(values),
            "final_median": float(np.median(values)) if len(values) else np.nan,
            "final_ci_low": low,
            "final_ci_high": high,
        }
        if (problem, config) in erts.index:
            e = erts.loc[[(problem, config)]].iloc[0]
            row.update(target=level_label(e["kind"], e["level"]), ert=e["ert"], success_rate=e["success_rate"])
        rows.append(row)
    return pd.DataFrame(rows)


def _ert_interval(paid: np.ndarray, hit: np.ndarray) -> tuple[float, float]:
    """A 95% percentile bootstrap interval of the ERT, resampling runs (scipy.stats.bootstrap)."""
    from scipy.stats import bootstrap

    if len(paid) < 2 or not hit.any() or (hit.all() and np.ptp(paid) == 0):
        value = paid.sum() / hit.sum() if hit.any() else np.inf
        return (value, value) if len(paid) >= 2 else (np.nan, np.nan)

    def statistic(p, h, axis=-1):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(h.sum(axis) > 0, p.sum(axis) / h.sum(axis), np.inf)

    with np.errstate(invalid="ignore"):  # resamples without a success have an infinite ERT
        result = bootstrap(
            (paid, hit.astype(float)),
            statistic,
            paired=True,
            vectorized=True,
            method="percentile",
            n_resamples=2000,
            rng=np.random.default_rng(0),
        )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)
