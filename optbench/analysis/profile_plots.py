"""Figures of the fixed-target and fixed-budget views: runtime ECDFs, performance and
data profiles, and the best loss at budgets."""

from __future__ import annotations

import textwrap
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from optbench.analysis.fixed_budget import best_at_budgets
from optbench.analysis.fixed_target import runtime_ecdf
from optbench.analysis.profiles import data_profile, performance_profile, performance_ratios
from optbench.analysis.styles import distinct_styles
from optbench.analysis.targets import COST_LABELS
from optbench.analysis.tick_labels import plain_powers
from optbench.analysis.views import Comparison, Options
from optbench.errors import OptbenchError


def _figure(width: float = 7.5, height: float = 4.8) -> tuple[Any, Any]:
    return plt.subplots(figsize=(width, height), layout="constrained")


def _left_out(fig: Any, comparison: Comparison) -> None:
    """Below a pooled figure, what it left out so every curve stands on the same problems."""
    note = comparison.common[2]
    if note:
        fig.text(0.01, 0.0, textwrap.fill(note, 130), fontsize="x-small", va="bottom", ha="left")
        below = 0.06 * (1 + len(note) // 130)  # the note's height, as a share of the figure
        fig.get_layout_engine().set(rect=(0, below, 1, 1 - below))


def _legend(fig: Any, ax: Any, n: int) -> None:
    """Inside the axes for a few lines; beside them, in columns, for many."""
    if n <= 8:
        ax.legend(fontsize="small", loc="best")
    else:
        fig.set_size_inches(fig.get_size_inches()[0] + 3.5 * (1 + n // 25), fig.get_size_inches()[1])
        fig.legend(loc="outside right upper", fontsize="x-small", ncols=1 + n // 25)


def _steps(ax: Any, table: pd.DataFrame, x: str, y: str, by: str) -> int:
    styles = distinct_styles(list(dict.fromkeys(table[by])))
    for name, group in table.groupby(by, sort=False):
        ax.step(group[x], group[y], where="post", label=name, **styles[name])
    return len(styles)


def ecdf_figure(comparison: Comparison) -> Any:
    """Runtime ECDF per config, aggregated over the problems and every target level
    (COCO's 51 precisions where the optimum is known, More-Wild's taus elsewhere)."""
    hits, options = comparison.pooled(comparison.hits), comparison.options
    table = runtime_ecdf(hits)
    fig, ax = _figure()
    n = _steps(ax, table, "cost", "fraction", "config")
    if options.cost != "steps":
        ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(COST_LABELS[options.cost])
    ax.set_ylabel("fraction of (run, target) pairs reached")
    problems = hits["problem"].nunique()
    ax.set_title(f"Runtime ECDF over {problems} problem{'s' * (problems > 1)} and {hits['level'].nunique()} targets")
    ax.grid(True, alpha=0.3)
    _legend(fig, ax, n)
    _left_out(fig, comparison)
    return plain_powers(fig)


def profile_figure(comparison: Comparison) -> Any:
    """The Dolan-Moré performance profile of the cost to reach the options' level, over
    (problem, seed) instances."""
    costs, options = comparison.profile_costs(), comparison.options
    ratios = performance_ratios(costs).to_numpy()
    top = ratios[np.isfinite(ratios)].max() if np.isfinite(ratios).any() else 2.0
    taus = np.unique(np.concatenate([[1.0], np.geomspace(1.0, max(top, 2.0) * 1.5, 300)]))
    rho = performance_profile(costs, taus)
    table = rho.stack().rename("rho").rename_axis(["config", "tau"]).reset_index()
    fig, ax = _figure()
    n = _steps(ax, table, "tau", "rho", "config")
    ax.set_xscale("log", base=2)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(f"tau: within this factor of the best {options.cost} to target")
    ax.set_ylabel("fraction of instances")
    ax.set_title(f"Performance profile, {costs.shape[1]} instances, target {_level_text(options)}")
    ax.grid(True, alpha=0.3)
    _legend(fig, ax, n)
    _left_out(fig, comparison)
    return plain_powers(fig)


def data_profile_figure(comparison: Comparison) -> Any:
    """Moré-Wild data profile: the share of instances solved within alpha simplex
    gradients (n + 1 evaluations)."""
    options = comparison.options
    if options.cost != "evals":
        raise OptbenchError("data profiles count evaluations: use --x evals")
    costs = comparison.profile_costs()
    sizes = _n_params(comparison.runs)
    n = pd.Series([sizes.get(p, np.nan) for p, _ in costs.columns], index=costs.columns)
    if n.isna().any():
        raise OptbenchError("data profiles need the number of parameters of each problem; rerun with this optbench")
    finite = costs.to_numpy(dtype=float) / (n.to_numpy()[None, :] + 1)
    solved = finite[np.isfinite(finite) & (finite > 0)]
    low, high = (solved.min() / 1.2, solved.max() * 1.2) if solved.size else (1.0, 10.0)
    alphas = np.geomspace(min(low, 1.0), max(high, 2.0), 300)
    table = data_profile(costs, n, alphas).stack().rename("share").rename_axis(["config", "alpha"]).reset_index()
    fig, ax = _figure()
    count = _steps(ax, table, "alpha", "share", "config")
    ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("alpha: simplex gradients, evaluations / (n + 1)")
    ax.set_ylabel("fraction of instances solved")
    ax.set_title(f"Data profile, {costs.shape[1]} instances, target {_level_text(options)}")
    ax.grid(True, alpha=0.3)
    _legend(fig, ax, count)
    _left_out(fig, comparison)
    return plain_powers(fig)


def fixed_budget_figure(runs: pd.DataFrame, traces: pd.DataFrame, problem: str, cost: str = "evals") -> Any:
    """Box plots of the best loss (gap to the optimum where known) each config had reached
    at a few budgets on ``problem``: one panel per budget, one box per config."""
    mine = runs[runs["problem"] == problem]
    table = best_at_budgets(mine, traces, None, cost)
    if table.empty:
        raise OptbenchError(f"no finished runs of {problem!r} to plot")
    known = table["gap"].notna().any()
    table["value"] = table["gap"] if known else table["best_loss"]
    table = table[np.isfinite(table["value"].to_numpy(dtype=float))]  # a diverged run has no point to draw
    if table.empty:
        raise OptbenchError(f"no run of {problem!r} reached a finite loss: no best loss to draw at any budget")
    budgets = sorted(set(table["budget"]))
    configs = list(dict.fromkeys(table["config"]))
    fig, axes = plt.subplots(
        1, len(budgets), figsize=(2.4 * len(budgets) + 2.5, 0.28 * len(configs) + 1.8),
        sharey=True, layout="constrained", squeeze=False,
    )  # fmt: skip
    positive = known or (table["value"] > 0).all()
    for ax, budget in zip(axes[0], budgets):
        at = table[table["budget"] == budget]
        data = [at.loc[at["config"] == c, "value"].dropna().to_numpy() for c in configs]
        floor = np.finfo(float).tiny
        ax.boxplot([np.maximum(d, floor) if positive else d for d in data], vert=False, widths=0.6)
        ax.set_yticks(range(1, len(configs) + 1), configs, fontsize="small")
        if positive:
            ax.set_xscale("log")
        ax.set_title(f"{cost} <= {budget:g}", fontsize="small")
        ax.grid(True, axis="x", alpha=0.3)
    axes[0][0].invert_yaxis()
    fig.supxlabel("best loss - optimum" if known else "best loss", fontsize="small")
    fig.suptitle(f"{problem}: best loss reached at each budget, over seeds")
    return plain_powers(fig)


FIGURES = {"ecdf": ecdf_figure, "profile": profile_figure, "data-profile": data_profile_figure}


def _level_text(options: Options) -> str:
    return f"precision {options.level_of('precision'):g} / tau {options.level_of('tau'):g}"


def _n_params(runs: pd.DataFrame) -> dict[str, float]:
    """The number of parameters per problem, as stored with its runs."""
    if "n_params" not in runs:
        return {}
    return runs.dropna(subset=["n_params"]).groupby("problem")["n_params"].max().to_dict()
