"""The verdict of a comparison, in a few computed sentences: which configuration solves
the most, which is fastest, and which differences are significant and larger than the
tolerance. The report leads with it; every figure in it is in a table further down."""

from __future__ import annotations

import pandas as pd

from optbench.analysis.views import Comparison
from optbench.registry import natural_key


def verdict(comparison: Comparison) -> list[str]:
    """The sentences, most important first."""
    lines = []
    profile = comparison.profile_table()
    if not profile.empty:
        lines += _solved_and_fastest(profile)
    stats = comparison.stats()
    lines.append(_differences(stats["tests"], comparison.options.alpha))
    ranks, friedman = stats["ranks"], stats["friedman"].iloc[0]
    if not ranks.empty and ranks["problems"].max() >= 2 and len(ranks) >= 2:
        best = ranks.iloc[0]
        lines.append(
            f"Best average rank of the median final loss over {int(ranks['problems'].max())} problems: "
            f"{best['optimizer']} ({best['average_rank']:.2f}, next {ranks.iloc[1]['optimizer']} "
            f"{ranks.iloc[1]['average_rank']:.2f}); Friedman p = {friedman['p']:.2g}."
        )
    return lines


def _solved_and_fastest(profile: pd.DataFrame) -> list[str]:
    instances = int(profile["instances"].iloc[0])
    top = profile["solved"].max()
    if top == 0:
        return [f"No configuration reached the target on any of the {instances} problem instances (problem x seed)."]
    leaders = sorted(profile.loc[profile["solved"] == top, "optimizer"], key=natural_key)
    rest = profile[profile["solved"] < top]
    second = sorted(rest.loc[rest["solved"] == rest["solved"].max(), "optimizer"], key=natural_key)
    solved = (
        f"{_names(leaders)} solve{'s' if len(leaders) == 1 else ''} the most: {top:.0%} of the {instances} problem "
        "instances (problem x seed) reach the target"
        + (f"; next, {_names(second)} with {rest['solved'].max():.0%}." if second else ".")
    )
    fastest = profile.sort_values("rho_1", ascending=False, kind="stable").iloc[0]
    scored = profile.iloc[0]  # sorted by score
    speed = (
        f"Fastest to the target on the most instances: {fastest['optimizer']}, on {fastest['rho_1']:.0%} of them "
        f"(the performance profile at ratio 1); the best profile score is {scored['optimizer']}'s "
        f"({scored['score']:.2f} of 1)."
    )
    return [solved, speed]


def _differences(tests: pd.DataFrame, alpha: float) -> str:
    final = tests[tests["measure"] == "final loss"] if not tests.empty else tests
    if final.empty:
        return "There are no pairs of configurations to test."
    real = final[final["significant"]]
    share = f"{len(real)} of {len(final)} pairwise differences in final loss"
    if real.empty:
        return (
            f"None of the {len(final)} pairwise differences in final loss is both significant (Holm p <= {alpha:g}) "
            "and larger than the tolerance."
        )
    strongest = real.sort_values("p_holm", kind="stable").head(3)
    examples = "; ".join(
        f"{row.better} lower than {row.optimizer_b if row.better == row.optimizer_a else row.optimizer_a} on "
        f"{row.problem} (in {(row.A if row.better == row.optimizer_a else 1 - row.A):.0%} of pairs of runs, "
        f"Holm p = {row.p_holm:.2g})"
        for row in strongest.itertuples()
    )
    return f"{share} are significant (Holm p <= {alpha:g}) and larger than the tolerance: {examples}."


def _names(names: list[str], most: int = 5) -> str:
    """``a``, ``a and b``, ``a, b and c``; past ``most``, the first ones and how many more."""
    if len(names) > most:
        return f"{', '.join(names[:most])} and {len(names) - most} more"
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
