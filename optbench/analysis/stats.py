"""Statistics for a comparison: pairwise tests with Holm's correction, bootstrap
confidence intervals, and average ranks with Friedman's test across problems."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
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
    values: pd.DataFrame,
    alpha: float = 0.05,
    measure: str = "value",
    copies: Iterable[tuple[str, str]] = (),
    tolerance: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Two-sided Mann-Whitney U tests between every pair of configs on each problem,
    Holm-corrected over the pairs of that problem.

    ``copies`` names the (problem, config) pairs whose runs are one result repeated (a
    deterministic method from a fixed start: every seed is the same run). Their values
    count once, as their median (a cost in seconds varies between copies; the runs do
    not): ten copies of one number are one observation, not ten, and testing them as ten
    calls rounding-level differences significant (pseudo-replication).

    ``tolerance`` maps a problem to the difference below which two values are practically
    equal (0 where not given): a pair is ``significant`` only where Holm's p is at most
    ``alpha`` and the medians differ by more than it, and the effect size ``A`` counts a
    pair of runs within it as a tie. ``A`` is the Vargha-Delaney statistic for a lower
    value: the probability that a run of ``a`` ends below one of ``b``, ties counted half
    (0.5: no effect; 0.71 and above is conventionally large). ``difference`` is
    ``median_a - median_b``.

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
        samples = {c: np.median(v)[None] if (problem, c) in copies and len(v) else v for c, v in given.items()}
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
            tol = float((tolerance or {}).get(problem, 0.0))
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
                    "difference": _difference(np.median(x), np.median(y)),
                    "tolerance": tol,
                    "A": vargha_delaney(x, y, tol),
                    "U": float(u),
                    "p": float(p),
                }
            )
        adjusted = holm([r["p"] for r in rows[first:]])
        for row, p_holm in zip(rows[first:], adjusted):
            row["p_holm"] = float(p_holm)
            row["significant"] = bool(p_holm <= alpha) and not abs(row["difference"]) <= row["tolerance"]
            # U counts the pairs in which a's value exceeds b's (ties half): below half of them, a ranks lower.
            a_lower = row["U"] < row["n_a"] * row["n_b"] / 2
            row["better"] = (row["a"] if a_lower else row["b"]) if row["significant"] else ""
    return pd.DataFrame(rows)


def vargha_delaney(x: np.ndarray, y: np.ndarray, tolerance: float = 0.0) -> float:
    """The probability that a value of ``x`` is below one of ``y`` by more than
    ``tolerance``, pairs within it counted half: Vargha and Delaney's A for a lower value
    (J. Educ. Behav. Statist. 25(2), 2000; with no tolerance, U / (n m) of the Mann-Whitney
    test on -x and -y). Infinite values (a target never reached) compare as usual; two
    infinities tie."""
    x, y = np.asarray(x, dtype=float)[:, None], np.asarray(y, dtype=float)[None, :]
    with np.errstate(invalid="ignore"):
        gap = y - x
        tie = (x == y) | (np.abs(gap) <= tolerance)
    return float(np.mean(np.where(tie, 0.5, gap > 0)))


def _difference(a: float, b: float) -> float:
    """``a - b``, 0 where both are the same infinity (neither reached the target)."""
    return 0.0 if a == b else float(a - b)


def copied_runs(runs: pd.DataFrame) -> set[tuple[str, str]]:
    """The (problem, config) pairs of two or more runs that all ended identically (the same
    ``fun``, ``x`` and ``nfev``): one result repeated, as a deterministic method gives from
    a fixed start whatever the seed, not independent replicates."""
    columns = [c for c in ("fun", "x", "nfev") if c in runs]
    kept = runs[["problem", "config", *columns]].astype({c: str for c in columns})  # NaN and None compare equal
    groups = kept.groupby(["problem", "config"], sort=False)
    distinct, sizes = groups[columns].nunique(), groups.size()
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


def average_ranks(scores: pd.DataFrame, tolerance: Mapping[str, float] | None = None) -> Ranks:
    """Average ranks of configs across problems, and Friedman's test that they are equal.

    ``scores`` has one row per problem and one column per config (lower is better; inf
    ranks last; NaN means not run). Ranks need every config on every problem: the configs
    not run everywhere are left out, or the problems lacking a config, whichever keeps
    more of the table. Friedman's statistic and p-value are NaN with fewer than 3 configs
    or 2 problems. ``tolerance`` maps a problem (the index) to the difference within which
    its values tie (see ``tied_ranks``): a rounding-level gap does not decide a rank.

    Reference: Friedman, J. Amer. Statist. Assoc. 32(200), 1937; Demšar, "Statistical
    comparisons of classifiers over multiple data sets", JMLR 7, 2006.
    """
    from scipy.stats import friedmanchisquare

    by_config, by_problem = scores.dropna(axis=1, how="any"), scores.dropna(axis=0, how="any")
    complete = by_config if by_config.size >= by_problem.size and by_config.shape[1] >= 2 else by_problem
    if complete.empty:
        raise OptbenchError("average ranks need problems on which every config ran")
    values = complete.to_numpy(dtype=float)
    values = np.where(np.isnan(values), np.inf, values)
    tolerances = [float((tolerance or {}).get(problem, 0.0)) for problem in complete.index]
    ranks = np.stack([tied_ranks(row, tol) for row, tol in zip(values, tolerances)])
    mean = pd.Series(ranks.mean(axis=0), index=complete.columns, name="average_rank")
    problems = list(complete.index)
    if values.shape[1] < 3 or values.shape[0] < 2:
        return Ranks(mean, float("nan"), float("nan"), problems)
    if np.all(ranks == ranks[:, :1]):
        return Ranks(mean, 0.0, 1.0, problems)
    statistic, p = friedmanchisquare(*ranks.T)
    return Ranks(mean, float(statistic), float(p), problems)


def critical_difference(k: int, n: int, alpha: float = 0.05) -> float:
    """Nemenyi's critical difference of average ranks for ``k`` configurations over ``n``
    problems: ``q_alpha * sqrt(k (k + 1) / (6 n))``, where ``q_alpha`` is the 1 - alpha
    quantile of the studentized range for k groups and infinite degrees of freedom, over
    sqrt(2) (2.569 for k = 4 at alpha 0.05). Two average ranks further apart differ
    significantly, after Friedman's test has rejected equal ranks.

    Reference: Nemenyi, "Distribution-free multiple comparisons", 1963; Demšar 2006,
    sec. 3.2.2 and table 5.
    """
    from scipy.stats import studentized_range

    _check_alpha(alpha)
    if k < 2 or n < 1:
        raise OptbenchError(f"a critical difference needs 2 or more configurations and a problem, got {k} and {n}")
    q = studentized_range.ppf(1 - alpha, k, np.inf) / np.sqrt(2)
    return float(q * np.sqrt(k * (k + 1) / (6 * n)))


def cliques(ranks: pd.Series, difference: float) -> list[list[str]]:
    """The groups a critical-difference diagram joins by a bar: the longest runs of
    configurations, in rank order, whose first and last average ranks differ by less than
    ``difference`` (so no two in a group differ significantly), each not inside another,
    of two or more."""
    ordered = ranks.sort_values(kind="stable")
    names, values = list(ordered.index), ordered.to_numpy(dtype=float)
    groups: list[list[str]] = []
    for i in range(len(values)):
        j = i
        while j + 1 < len(values) and values[j + 1] - values[i] < difference:
            j += 1
        if j > i and not (groups and groups[-1][-1] == names[j]):  # a later start ending at the same name is inside
            groups.append(names[i : j + 1])
    return groups


def tied_ranks(values: np.ndarray, tolerance: float = 0.0) -> np.ndarray:
    """Ranks from 1 (lowest) with values within ``tolerance`` of the lowest of a run of
    them tied at their average rank; with no tolerance, ``scipy.stats.rankdata``'s average
    ranks. Grouping starts from the lowest value, so a chain of small gaps does not merge
    values further apart than the tolerance."""
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    i = 0
    while i < len(order):
        start, j = values[order[i]], i
        while j + 1 < len(order) and (values[order[j + 1]] == start or values[order[j + 1]] - start <= tolerance):
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def _check_alpha(alpha: float) -> None:
    if not 0 < alpha < 1:
        raise OptbenchError(f"alpha must be between 0 and 1, got {alpha}")
