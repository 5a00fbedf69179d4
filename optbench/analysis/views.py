"""The tables behind ``optbench table --view`` and the report: each a DataFrame built by
the analysis functions from one ``Comparison``, which computes the hitting times once."""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass
from math import comb

import numpy as np
import pandas as pd

from optbench.analysis.fixed_budget import best_at_budgets
from optbench.analysis.fixed_target import ert
from optbench.analysis.formatting import count, number
from optbench.analysis.profiles import instance_costs, performance_profile, performance_ratios, profile_score
from optbench.analysis.stats import Ranks, average_ranks, bootstrap_ci, copied_runs, pairwise_tests
from optbench.analysis.targets import TAUS, finished, hitting_times, level_label, relative_problems, targets
from optbench.drive.trace import PRECISIONS
from optbench.errors import OptbenchError
from optbench.registry import natural_key

DISPLAY_LEVELS = {"precision": (1e0, 1e-2, 1e-4, 1e-6, 1e-8), "tau": (1e-1, 1e-3, 1e-5, 1e-7)}
DEFAULT_LEVEL = {"precision": 1e-6, "tau": 1e-3}


@dataclass(frozen=True)
class Options:
    """What a fixed-target view measures: the cost axis, the kind of targets, the one
    target level of profiles and tests (per kind when None), the significance level, and
    the relative tolerance within which final losses are practically equal."""

    cost: str = "evals"
    kind: str = "auto"
    level: float | None = None
    alpha: float = 0.05
    tolerance: float | None = None  # relative; final losses closer than it tie (default: the precision level)

    def level_of(self, kind: str) -> float:
        return DEFAULT_LEVEL[kind] if self.level is None else self.level

    @property
    def relative_tolerance(self) -> float:
        return self.level_of("precision") if self.tolerance is None else self.tolerance

    @property
    def tolerance_rule(self) -> str:
        """How final losses are judged equal, as the views print it."""
        return f"{self.relative_tolerance:g} x |f_opt| (or the median loss) + 1e-12"


class Comparison:
    """The finished runs of a comparison, their traces, and what its views measure; the
    hitting times (every target of the grid, on the options' cost axis) are computed
    once and shared by every view and figure."""

    def __init__(self, runs: pd.DataFrame, traces: pd.DataFrame, options: Options = Options()):
        self.runs, self.traces = finished(runs, traces)
        if self.runs.empty:
            raise OptbenchError("no finished runs with a trace to measure (every run was skipped or failed)")
        self.options = options

    @functools.cached_property
    def hits(self) -> pd.DataFrame:
        """Hitting times at COCO's 51 precisions (or More-Wild's taus) and the level."""
        precisions = sorted({*PRECISIONS, self.options.level_of("precision")}, reverse=True)
        taus = sorted({*TAUS, self.options.level_of("tau")}, reverse=True)
        table = targets(self.runs, self.traces, self.options.kind, precisions=precisions, taus=taus)
        return hitting_times(self.runs, self.traces, self.options.cost, table)

    def at_level(self) -> pd.DataFrame:
        """The hitting times at the options' level (per kind of target)."""
        hits = self.hits
        level = hits["kind"].map({k: self.options.level_of(k) for k in ("precision", "tau")})
        return hits[np.isclose(hits["level"], level, rtol=1e-12, atol=0.0)]

    def reference_note(self) -> str:
        """Which problems' targets are relative (to a problem's target scale, or to the best
        loss found), and why."""
        if self.options.kind == "tau":
            return "targets: More-Wild's test f(x0) - f(x) >= (1 - tau)(f(x0) - f_L); f_L is f_opt where known\n"
        note, relative = "", relative_problems(self.runs)
        if relative:
            note += (
                f"relative precision targets on {_listed(relative)}: f - f_opt <= delta x the problem's target scale "
                "(optima of such a family differ by orders of magnitude; NIST's scale is its certified optimum)\n"
            )
        unknown = sorted(set(self.runs.loc[self.runs["f_opt"].isna(), "problem"]))
        if self.options.kind == "auto" and unknown:
            note += (
                f"no known optimum for {_listed(unknown)}: their targets use More-Wild's test against f_L, "
                "the best loss any run of the comparison found (tau levels)\n"
            )
        return note

    def ert_table(self) -> pd.DataFrame:
        """ERT and success rate per problem, config and display level (and the options'
        level), with 95% percentile bootstrap intervals of the ERT over the runs."""
        hits, keep = self.hits, np.zeros(len(self.hits), bool)
        for kind, levels in DISPLAY_LEVELS.items():
            wanted = np.array([*levels, self.options.level_of(kind)])
            near = np.isclose(hits["level"].to_numpy()[:, None], wanted[None, :], rtol=1e-12, atol=0.0).any(axis=1)
            keep |= (hits["kind"] == kind).to_numpy() & near
        hits = hits[keep]
        table = ert(hits)
        intervals = [
            _ert_interval(np.where(g["hit"], g["cost"], g["spent"]), g["hit"].to_numpy())
            for _, g in hits.groupby(["problem", "config", "kind", "level"], sort=False)
        ]
        table["ert_ci_low"], table["ert_ci_high"] = zip(*intervals) if intervals else ([], [])
        table["target"] = [level_label(k, v) for k, v in zip(table["kind"], table["level"])]
        return table.rename(columns={"config": "optimizer"})

    def tolerances(self) -> dict[str, float]:
        """Per problem, the difference in final loss within which two values are practically
        equal: the relative tolerance (``Options.tolerance``, else the precision level, 1e-6)
        times |f_opt| where known, else times the median |fun|, plus 1e-12: the rule of
        the table's target."""
        rtol = self.options.relative_tolerance
        out = {}
        for problem, group in self.runs.groupby("problem", sort=False):
            f_opt = group["f_opt"].dropna()
            scale = abs(float(f_opt.iloc[0])) if len(f_opt) else float(np.nanmedian(np.abs(group["fun"])))
            out[problem] = rtol * (scale if np.isfinite(scale) else 0.0) + 1e-12
        return out

    def stats(self) -> dict[str, pd.DataFrame]:
        """``medians``: per problem and config, the median final loss and the ERT at the
        options' level, each with a 95% bootstrap interval; ``tests``: pairwise
        Mann-Whitney tests (Holm-corrected per problem) on the final loss and on the
        hitting time (failures rank worst); ``ranks``: average ranks of the median final
        loss across problems, with Friedman's test in ``friedman``. Computed once: the
        report's tables and its critical-difference diagram share them."""
        return self._stats

    @functools.cached_property
    def _stats(self) -> dict[str, pd.DataFrame]:
        options, hits = self.options, self.at_level()
        final = self.runs[["problem", "config", "fun"]].rename(columns={"fun": "value"})
        reached = hits.assign(value=hits["cost"].where(hits["hit"], np.inf))
        label = {k: level_label(k, options.level_of(k)) for k in ("precision", "tau")}
        copies, tolerance = copied_runs(self.runs), self.tolerances()
        tests = pd.concat(
            [
                pairwise_tests(final, options.alpha, "final loss", copies, tolerance),
                *(
                    pairwise_tests(group, options.alpha, f"{options.cost} to {label[kind]}", copies)
                    for kind, group in reached.groupby("kind")
                ),
            ],
            ignore_index=True,
        )
        medians = _medians(final, ert(hits))
        scores = medians.pivot_table(index="problem", columns="optimizer", values="final_median", sort=False)
        try:
            ranks = average_ranks(scores, tolerance)
        except OptbenchError:
            ranks = Ranks(pd.Series(dtype=float, name="average_rank"), float("nan"), float("nan"), [])
        ranks_table = ranks.average.sort_values().rename_axis("optimizer").reset_index()
        ranks_table["problems"] = len(ranks.problems)
        significant = bool(ranks.p <= options.alpha)
        return {
            "medians": medians,
            "tests": tests.rename(columns={"a": "optimizer_a", "b": "optimizer_b"}),
            "ranks": ranks_table,
            "friedman": pd.DataFrame([{"statistic": ranks.statistic, "p": ranks.p, "significant": significant}]),
        }

    @functools.cached_property
    def common(self) -> tuple[frozenset[str], frozenset[str], str]:
        """What views pooled over problems (ECDFs, profiles) compare, so that every curve
        stands on the same problems: the problems and configurations kept, and a note of
        what was left out (empty where nothing was). Of three choices, the one that keeps
        the most (configuration, problem) pairs: every configuration on the problems all of
        them ran (as ``average_ranks`` does), the configurations that ran on every problem,
        or, where neither keeps anything, configurations taken from the most problems down
        while they share some."""
        problems_of = self.runs.groupby("config", sort=False)["problem"].agg(frozenset)
        every = frozenset(self.runs["problem"])
        complete = frozenset(problems_of.index[problems_of.map(len) == len(every)])
        choices = [(frozenset.intersection(*problems_of), frozenset(problems_of.index)), (every, complete)]
        shared, kept = every, []
        for config in problems_of.map(len).sort_values(ascending=False, kind="stable").index:
            if shared & problems_of[config]:
                shared, kept = shared & problems_of[config], [*kept, config]
        choices.append((shared, frozenset(kept)))
        problems, configs = max(choices, key=lambda c: len(c[0]) * len(c[1]))  # the first of equals
        left = [f"{c} (ran on {len(problems_of[c])} of {len(every)})" for c in problems_of.index if c not in configs]
        notes = [f"left out, for not running on every problem: {_cut(', '.join(left))}"] if left else []
        if len(problems) < len(every):
            notes.insert(0, f"over the {len(problems)} problems every configuration shown ran on")
            notes.append(f"problems left out: {_cut(', '.join(sorted(every - problems)))}")
        text = "; ".join(notes)
        return problems, configs, (text[:1].upper() + text[1:] + ".") if notes else ""

    def pooled(self, table: pd.DataFrame) -> pd.DataFrame:
        """The rows of ``table`` (with ``problem`` and ``config``) that ``common`` keeps."""
        problems, configs, _ = self.common
        return table[table["problem"].isin(problems) & table["config"].isin(configs)]

    def profile_costs(self) -> pd.DataFrame:
        """Profiles' costs: per config and instance (problem, seed), the cost to the level,
        on the problems every kept configuration ran (``common``)."""
        hits = self.pooled(self.at_level())
        parts = [
            instance_costs(group, self.options.level_of(kind), kind) for kind, group in hits.groupby("kind", sort=False)
        ]
        return pd.concat(parts, axis=1) if len(parts) > 1 else parts[0]

    def profile_table(self) -> pd.DataFrame:
        """Per config, over problem instances (problem, seed): the share solved at the
        options' level, the Dolan-Moré profile at tau = 1, 2 and 4, and AlgoPerf's score."""
        costs = self.profile_costs()
        rho = performance_profile(costs, [1.0, 2.0, 4.0])
        table = pd.DataFrame(
            {
                "optimizer": costs.index,
                "instances": costs.shape[1],
                "solved": np.isfinite(performance_ratios(costs).to_numpy()).mean(axis=1),
                "rho_1": rho[1.0].to_numpy(),
                "rho_2": rho[2.0].to_numpy(),
                "rho_4": rho[4.0].to_numpy(),
                "score": profile_score(costs).to_numpy(),
            }
        )
        return table.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)

    def fixed_budget_table(self) -> pd.DataFrame:
        """Per problem and config, the median best loss (gap to the optimum where known)
        at budgets of ..., 100, 1,000 evaluations (or the chosen cost) and the largest spent."""
        table = best_at_budgets(self.runs, self.traces, None, self.options.cost)
        table["value"] = table["gap"].fillna(table["best_loss"])
        wide = table.pivot_table(
            index=["problem", "config"], columns="budget", values="value", aggfunc="median", sort=False
        )
        wide.columns = [f"{self.options.cost}<={count(b) if b >= 1 else number(b, 3)}" for b in wide.columns]
        return wide.reset_index().rename(columns={"config": "optimizer"})


def power_note(tests: pd.DataFrame, alpha: float) -> str:
    """What the tests cannot say. Configurations whose runs are one result repeated count
    once (``pairwise_tests``), and more seeds would repeat it again: they are named, and
    never advised more seeds. Where too few independent runs make a significant difference
    impossible, say so: with n and m runs the smallest two-sided Mann-Whitney p-value is
    2 / C(n + m, n), and Holm's correction over k pairs asks for p <= alpha / k of the smallest."""
    if tests.empty:
        return ""
    sides = pd.concat(
        [
            tests[["problem", _named(tests, s), f"n_{s}", f"runs_{s}" if f"runs_{s}" in tests else f"n_{s}"]].set_axis(
                ["problem", "config", "n", "runs"], axis=1
            )
            for s in ("a", "b")
        ],
        ignore_index=True,
    ).drop_duplicates(["problem", "config"])
    repeated = sides[(sides["runs"] > 1) & (sides["n"] == 1)]
    note = ""
    if not repeated.empty:
        shown = ", ".join(f"{c} on {p}" for p, c in zip(repeated["problem"], repeated["config"]))
        note += (
            f"{len(repeated)} of {len(sides)} configurations gave one result over all their seeds (a fixed start "
            f"and no randomness: {_cut(shown)}): each counts as one run, so no test can call it different, and "
            "more seeds would only repeat it; compare such values directly.\n"
        )
    varied = sides.drop(repeated.index)
    if varied.empty:
        return note
    pairs = tests.groupby(["problem", "measure"]).size().max()
    n = int(varied["n"].min())
    smallest = 2 / comb(2 * n, n)  # int / int: exact, 0.0 past float's range (2.0 / C overflows from n = 515)
    if smallest <= alpha / pairs:
        return note
    # No cap: 2 / C(2k, k) falls as 4^-k and reaches 0.0, so any alpha > 0 is met (1e-300 at k = 500).
    needed = next(k for k in itertools.count(n) if 2 / comb(2 * k, k) <= alpha / pairs)
    return note + (
        f"With {n} runs per configuration no difference can be significant: the smallest p-value is "
        f"{smallest:.2g}, and Holm over {pairs} pairs needs {alpha / pairs:.2g}. Run at least {needed} seeds, "
        "or compare fewer configurations.\n"
    )


def _named(tests: pd.DataFrame, side: str) -> str:
    """The column naming a test's configuration ``side``: ``optimizer_a`` in a view, ``a`` as tested."""
    return f"optimizer_{side}" if f"optimizer_{side}" in tests else side


def _listed(names: list[str], most: int = 6) -> str:
    """Names in natural order, the first ``most`` of them and how many more."""
    names = sorted(names, key=natural_key)
    more = f" and {len(names) - most} more" if len(names) > most else ""
    return ", ".join(names[:most]) + more


def _cut(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _medians(final: pd.DataFrame, erts: pd.DataFrame) -> pd.DataFrame:
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
