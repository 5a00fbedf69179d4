"""The critical-difference diagram (Demšar 2006): average ranks across problems on one
axis, with a bar joining the configurations that Nemenyi's test cannot tell apart."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt

from optbench.analysis.stats import cliques, critical_difference
from optbench.analysis.views import Comparison
from optbench.errors import OptbenchError


def cd_figure(comparison: Comparison) -> Any:
    """Average ranks of the median final loss (1 is best), the critical difference at the
    comparison's alpha, and bars over groups whose ranks differ by less than it. Needs 2 or
    more configurations ranked over 2 or more problems."""
    parts = comparison.stats()
    table, friedman = parts["ranks"], parts["friedman"].iloc[0]
    if len(table) < 2 or table["problems"].max() < 2:
        raise OptbenchError(
            "a critical-difference diagram needs 2 or more configurations run on the same 2 or more problems"
        )
    ranks = table.set_index("optimizer")["average_rank"].sort_values(kind="stable")
    k, n, alpha = len(ranks), int(table["problems"].max()), comparison.options.alpha
    cd = critical_difference(k, n, alpha)
    groups = cliques(ranks, cd)
    half, bars = (k + 1) // 2, 0.3 * len(groups)  # labels on each side; the bars' depth below the axis
    fig, ax = plt.subplots(figsize=(7.5, 1.6 + 0.32 * (half + bars)), layout="constrained")
    ax.set_xlim(k + 0.4, 0.6)  # the best (rank 1) on the right, as in Demšar's figures
    ax.set_ylim(-(half + bars + 0.8), 1.6)
    ax.hlines(0, 1, k, color="black", linewidth=1)
    for r in range(1, k + 1):
        ax.vlines(r, 0, 0.12, color="black", linewidth=1)
        ax.text(r, 0.2, str(r), ha="center", va="bottom", fontsize="small")
    shown = min(cd, k - 1)  # a CD wider than the axis is drawn across it
    ax.hlines(1.2, k, k - shown, color="black", linewidth=2)
    ax.text(k - shown / 2, 1.3, f"CD = {cd:.2f}", ha="center", va="bottom", fontsize="small")
    for i, (name, rank) in enumerate(ranks.items()):
        right = i < half  # the better half is labelled on the right, the rest on the left
        row = -(i if right else k - 1 - i) - bars - 0.6
        edge = 0.6 if right else k + 0.4  # the line ends past the axis; the name beyond it, outside
        ax.plot([rank, rank, edge], [0, row, row], color="0.3", linewidth=0.8)
        ax.text(edge, row, f" {name} ({rank:.2f}) ", ha="left" if right else "right", va="center", fontsize="small")
    for g, members in enumerate(groups):
        y = -0.25 - 0.3 * g
        ax.hlines(y, ranks[members[0]] - 0.03, ranks[members[-1]] + 0.03, color="black", linewidth=3)
    ax.set_axis_off()
    ax.set_title(
        f"Average ranks of the median final loss over {n} problems (Friedman p = {friedman['p']:.3g})\n"
        f"a bar joins ranks within Nemenyi's critical difference at alpha {alpha:g}",
        fontsize="small",
    )
    return fig
