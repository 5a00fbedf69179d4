"""Statistics for a comparison: pairwise tests with Holm's correction, bootstrap
confidence intervals, and average ranks with Friedman's test across problems."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from optbench.errors import OptbenchError


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values: with the m p-values sorted ascending,
    ``p_adj(i) = max over j <= i of min(1, (m - j + 1) * p(j))`` (ranks from 1), returned
    in the input order. Rejecting ``p_adj <= alpha`` controls the family-wise error rate.

    Reference: Holm, "A simple sequentially rejective multiple test procedure",
    Scand. J. Statist. 6(2), 1979.
    """
    p = np.asarray(pvalues, dtype=float)
    m = len(p)
    order = np.argsort(p, kind="stable")
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.maximum.accumulate(scaled)
    return adjusted


def pairwise_tests(
    values: pd.DataFrame, alpha: float = 0.05, measure: str = "value", copies: Iterable[tuple[str, str]] = ()
) -> pd.DataFrame:
    """Two-sided Mann-Whitney U tests between every pair of configs on each problem,
    Holm-corrected over the pairs of that problem.

    ``copies`` names the (problem, config) pairs whose runs are one result repeated (a
    deterministic method from a fixed start: every seed is the same run). Their values
    count once, as their median (a cost in seconds varies between copies; the runs do
    not): ten copies of one number are one observation, not ten, and testing them as ten
    calls rounding-level differences significant (pseudo-replication).

    ``values`` has columns ``problem``, ``config`` and ``value`` (lower is better: a final
    loss, or a hitting time with inf for a run that never reached the target, so that
    failures rank worst). Returns per pair: ``runs_a``/``runs_b`` (the values given) and
    ``n_a``/``n_b`` (the independent ones, 1 for copies), the medians, ``U``, ``p``, ``p_holm``,
    ``significant`` (``p_holm <= alpha``) and ``better``, the config with the lower values
    where the difference is significant. ``measure`` names what was compared.

    Reference: Mann and Whitney, Ann. Math. Statist. 18(1), 1947; scipy.stats.mannwhitneyu.
    """
    from scipy.stats import mannwhitneyu

    _check_alpha(alpha)
    copies = set(copies)
    rows = []
    for problem, group in values.groupby("problem", sort=False):
        given = {c: g["value"].to_numpy(dtype=float) for c, g in group.groupby("config", sort=False)}
        given = {c: v[~np.isnan(v)] for c, v in given.items()}
        samples = {
            c: v[:0] if len(v) == 0 else np.median(v)[None] if (problem, c) in copies else v for c, v in given.items()
        }
        first = len(rows)
        for a, b in itertools.combinations(samples, 2):
            x, y = samples[a], samples[b]
            if len(x) == 0 or len(y) == 0:
                continue
            pooled = np.concatenate([x, y])
            if np.all(pooled == pooled[0]):
                u, p = len(x) * len(y) / 2.0, 1.0  # every value tied: no evidence of a difference
            else:
                u, p = mannwhitneyu(x, y, alternative="two-sided")
            rows.append(
                {
                    "problem": problem,
                    "measure": measure,
                    "a": a,
                    "b": b,
                    "runs_a": len(given[a]),
                    "runs_b": len(given[b]),
                    "n_a": len(x),
                    "n_b": len(y),
                    "median_a": float(np.median(x)),
                    "median_b": float(np.median(y)),
                    "U": float(u),
                    "p": float(p),
                }
            )
        adjusted = holm([r["p"] for r in rows[first:]])
        for row, p_holm in zip(rows[first:], adjusted):
            row["p_holm"] = float(p_holm)
            row["significant"] = bool(p_holm <= alpha)
            # U counts the pairs in which a's value exceeds b's (ties half): below half of them, a ranks lower.
            a_lower = row["U"] < row["n_a"] * row["n_b"] / 2
            row["better"] = (row["a"] if a_lower else row["b"]) if row["significant"] else ""
    return pd.DataFrame(rows)


def copied_runs(runs: pd.DataFrame) -> set[tuple[str, str]]:
    """The (problem, config) pairs of two or more runs that all ended identically (the same
    ``fun``, ``x`` and ``nfev``): one result repeated, as a deterministic method gives from
    a fixed start whatever the seed, not independent replicates."""
    columns = [c for c in ("fun", "x", "nfev") if c in runs]
    kept = runs[["problem", "config", *columns]].astype({c: str for c in columns})  # NaN and None compare equal
    distinct = kept.groupby(["problem", "config"], sort=False)[columns].nunique()
    sizes = kept.groupby(["problem", "config"], sort=False).size()
    return {key for key, row in distinct.iterrows() if sizes[key] > 1 and (row == 1).all()}


def bootstrap_ci(
    values: Sequence[float],
    statistic: Callable[..., np.ndarray] = np.median,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """A percentile bootstrap confidence interval of ``statistic`` over ``values``
    (scipy.stats.bootstrap, seeded: the same data give the same interval). ``statistic``
    is a numpy reduction taking ``axis`` (``np.median``, ``np.mean``), so every resample
    is computed in one call. The interval
    is (nan, nan) for fewer than two values. A statistic may be infinite (an ERT with no
    success in a resample); the interval then reaches inf.

    Reference: Efron and Tibshirani, "An introduction to the bootstrap", 1993, chapter 13.
    """
    from scipy.stats import bootstrap

    data = np.asarray(values, dtype=float)
    if len(data) < 2:
        return (float("nan"), float("nan"))
    result = bootstrap(
        (data,),
        lambda x, axis=-1: statistic(x, axis=axis),
        confidence_level=confidence,
        n_resamples=n_resamples,
        method="percentile",
        rng=np.random.default_rng(seed),
        vectorized=True,
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


class Ranks(NamedTuple):
    """Average ranks per config (1 is best), Friedman's chi-square and p-value, and the
    problems the ranks were taken over."""

    average: pd.Series
    statistic: float
    p: float
    problems: list[str]


def average_ranks(scores: pd.DataFrame) -> Ranks:
    """Average ranks of configs across problems, and Friedman's test that they are equal.

    ``scores`` has one row per problem and one column per config (lower is better; inf
    ranks last; NaN means not run). Ranks need every config on every problem: the configs
    not run everywhere are left out, or the problems lacking a config, whichever keeps
    more of the table. Friedman's statistic and p-value are NaN with fewer than 3 configs
    or 2 problems.

    Reference: Friedman, J. Amer. Statist. Assoc. 32(200), 1937; Demšar, "Statistical
    comparisons of classifiers over multiple data sets", JMLR 7, 2006.
    """
    from scipy.stats import friedmanchisquare, rankdata

    by_config, by_problem = scores.dropna(axis=1, how="any"), scores.dropna(axis=0, how="any")
    complete = by_config if by_config.size >= by_problem.size and by_config.shape[1] >= 2 else by_problem
    if complete.empty:
        raise OptbenchError("average ranks need problems on which every config ran")
    values = complete.to_numpy(dtype=float)
    ranks = rankdata(np.where(np.isfinite(values), values, np.inf), axis=1)
    mean = pd.Series(ranks.mean(axis=0), index=complete.columns, name="average_rank")
    problems = list(complete.index)
    if values.shape[1] < 3 or values.shape[0] < 2:
        return Ranks(mean, float("nan"), float("nan"), problems)
    if np.all(ranks == ranks[:, :1]):
        return Ranks(mean, 0.0, 1.0, problems)
    statistic, p = friedmanchisquare(*ranks.T)
    return Ranks(mean, float(statistic), float(p), problems)


def _check_alpha(alpha: float) -> None:
    if not 0 < alpha < 1:
        raise OptbenchError(f"alpha must be between 0 and 1, got {alpha}")
