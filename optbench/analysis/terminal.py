"""Each table view as text for a terminal: the key columns, rounded for reading, as many
as fit, with a caption saying what the numbers mean."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from typing import Any

import pandas as pd

from optbench.analysis import views
from optbench.analysis.formatting import Column, col, count, format_table, number, seconds
from optbench.analysis.tables import SUCCESS_RULE, nist_summary, summary
from optbench.analysis.targets import level_label
from optbench.errors import OptbenchError

_SHORT_STATUS = {
    "converged": "conv",
    "target_reached": "target",
    "max_steps": "steps",
    "max_evals": "evals",
    "max_time": "time",
    "max_epochs": "epochs",
    "diverged": "div",
    "skipped": "skip",
    "failed": "fail",
}


def statuses(text: str) -> str:
    """``3 converged, 2 max_steps`` -> ``3 conv 2 steps``."""
    parts = [p.strip().split(" ", 1) for p in str(text).split(",") if p.strip()]
    return " ".join(f"{n} {_SHORT_STATUS.get(s, s)}" for n, s in parts)


def _share(column: str, needs_target: bool = False) -> Callable[[dict[str, Any]], str]:
    """``k/n`` of the runs that ran (not skipped), or ``skipped`` where none did; with
    ``needs_target``, ``-`` where there was no target to reach (no budget target, no
    known optimum)."""

    def cell(row: dict[str, Any]) -> str:
        ran = row["n_runs"] - row.get("n_skipped", 0)
        if ran and needs_target and pd.isna(row.get("target")):
            return "-"
        return "skipped" if ran == 0 else f"{row[column]}/{ran}"

    return cell


# The summary in a terminal, most important first; metric medians come after "to target".
SUMMARY_KEY = [
    col("problem", "problem", str),
    col("optimizer", "optimizer", str),
    col("budget", "budget", str),
    Column("ok", _share("n_success"), ("n_success", "n_runs")),
    Column("reached", _share("n_target", needs_target=True), ("n_target", "n_runs")),
    col("fun_median", "loss"),
    col("subopt_median", "gap", lambda v: number(v, 3)),
    col("nfev_median", "evals", count),
    col("nfev_to_target_median", "to target", count),
    col("time_s_median", "time", seconds),
]
SUMMARY_TAIL = [
    col("statuses", "ended", statuses),
    col("compile_s_median", "compile", seconds),
    Column("loss IQR", lambda r: f"{number(r['fun_q25'], 3)}..{number(r['fun_q75'], 3)}", ("fun_q25", "fun_q75")),
]


def summary_columns(table: pd.DataFrame) -> list[Column]:
    """The terminal columns of a summary table: the key ones, the problem metrics, the rest."""
    metrics = [
        col(c, c.removesuffix("_median"), lambda v: number(v, 3))
        for c in table.columns
        if c.endswith("_median")
        and c not in {x.needs[0] for x in SUMMARY_KEY + SUMMARY_TAIL}
        and c not in ("fun_median", "time_to_target_median")
    ]
    key = SUMMARY_KEY if table["budget"].nunique() > 1 else [c for c in SUMMARY_KEY if c.header != "budget"]
    return key + metrics + SUMMARY_TAIL


def ert_terminal(table: pd.DataFrame, kind: str) -> tuple[pd.DataFrame, list[Column]]:
    """One row per problem and optimizer, one column per target: ``ERT (successes/runs)``."""
    mine = table[table["kind"] == kind]
    cells = mine.assign(
        cell=[f"{count(e)} ({s}/{n})" for e, s, n in zip(mine["ert"], mine["n_success"], mine["n_runs"])],
        header=[_short_level(kind, v) for v in mine["level"]],
    )
    wide = cells.pivot_table(
        index=["problem", "optimizer"], columns="header", values="cell", aggfunc="first", sort=False
    )
    order = [_short_level(kind, v) for v in sorted(set(mine["level"]), reverse=True)]
    wide = wide[[c for c in order if c in wide]].reset_index()
    columns = [col("problem", "problem", str), col("optimizer", "optimizer", str)]
    columns += [col(c, c, lambda v: "" if not isinstance(v, str) else v) for c in order if c in wide]
    return wide, columns


def fixed_budget_columns(table: pd.DataFrame) -> list[Column]:
    """The problem and optimizer, and one column per budget."""
    return [col("problem", "problem", str), col("optimizer", "optimizer", str)] + [
        col(c, c, lambda v: number(v, 3)) for c in table.columns[2:]
    ]


PROFILE_COLUMNS = [
    col("optimizer", "optimizer", str),
    col("instances", "instances", str),
    col("solved", "solved", lambda v: f"{v:.0%}"),
    col("rho_1", "fastest", lambda v: f"{v:.0%}"),
    col("rho_2", "within 2x", lambda v: f"{v:.0%}"),
    col("rho_4", "within 4x", lambda v: f"{v:.0%}"),
    col("score", "score", lambda v: number(v, 3)),
]


def _pick(row: dict, first: bool, what: str) -> str:
    """From a test row, the better config's (``first``) or the other's ``what``."""
    mine = (row["better"] == row["optimizer_a"]) == first
    return row[f"{what}_a"] if mine else row[f"{what}_b"]


TEST_COLUMNS = [
    col("problem", "problem", str),
    col("measure", "measure", str),
    col("better", "better", str),
    Column("median", lambda r: number(_pick(r, True, "median"), 3), ("better",)),
    Column("than", lambda r: _pick(r, False, "optimizer"), ("better",)),
    Column("median ", lambda r: number(_pick(r, False, "median"), 3), ("better",)),
    # The effect size for the better one: the chance that its run ends below the other's.
    Column("A", lambda r: f"{r['A'] if r['better'] == r['optimizer_a'] else 1 - r['A']:.2f}", ("better",)),
    col("p_holm", "p (Holm)", lambda v: f"{v:.2g}"),
]


def _short_level(kind: str, level: float) -> str:
    return level_label(kind, level).replace("f-f_opt", "")


def summary_text(runs: pd.DataFrame, fmt: str = "markdown", nist_only: bool = False) -> str:
    """The summary table; in a terminal, with the success rule and the NIST StRD summary."""
    nist = nist_summary(runs)
    if nist_only:
        if nist.empty:
            raise OptbenchError("no NIST StRD runs match the filters")
        return format_table(nist, fmt)
    table = summary(runs)
    if fmt != "markdown":
        return format_table(table, fmt)
    text = format_table(table, fmt, summary_columns(table))
    text += _wrap(
        f"{SUCCESS_RULE}; gap: loss - f_opt; time: compile apart, a run's share of the wall time of the execution "
        "it shared with the runs beside it as lanes (each step's time divided among the runs running at it; "
        "optbench export: batch_time_s, batch_size); medians over seeds. "
        "Every column: --format csv."
    )
    if not nist.empty:
        text += "\nNIST StRD accuracy (cases reaching a minimum parameter LRE of 4, 6, 8):\n"
        text += format_table(nist, fmt)
    return text


def view_text(view: str, comparison: views.Comparison, fmt: str) -> str:
    """A fixed-target or fixed-budget view (``ert``, ``stats``, ``profile``,
    ``fixed-budget``) as CSV, LaTeX or, for a terminal, markdown with its caption."""
    render = {"ert": _ert_text, "stats": _stats_text, "profile": _profile_text, "fixed-budget": _fixed_budget_text}
    if view not in render:
        raise OptbenchError(f"unknown view {view!r}; choose one of summary, {', '.join(render)}")
    return render[view](comparison, fmt)


def _ert_text(comparison: views.Comparison, fmt: str) -> str:
    table = comparison.ert_table()
    if fmt != "markdown":
        return format_table(table, fmt)
    parts = [
        format_table(wide, fmt, columns)
        for wide, columns in (ert_terminal(table, kind) for kind in ("precision", "tau"))
        if not wide.empty
    ]
    caption = (
        f"ERT: the expected {comparison.options.cost} to reach f - f_opt <= the column's precision (or More-Wild's "
        "test at tau), with (runs that reached it/runs); a run that misses it adds its whole cost."
    )
    return "\n".join(parts) + _wrap(caption) + _wrap(comparison.reference_note())


def _profile_text(comparison: views.Comparison, fmt: str) -> str:
    table = comparison.profile_table()
    if fmt != "markdown":
        return format_table(table, fmt)
    options = comparison.options
    caption = (
        f"Dolan-More performance profile of the {options.cost} to the target (precision "
        f"{options.level_of('precision'):g}, tau {options.level_of('tau'):g}) over (problem, seed) instances: "
        "solved, fastest, within 2x and 4x of the fastest; score: AlgoPerf's area under the profile up to 4x."
    )
    notes = _wrap(comparison.common[2]) + _wrap(comparison.reference_note())
    return format_table(table, fmt, PROFILE_COLUMNS) + _wrap(caption) + notes


def _fixed_budget_text(comparison: views.Comparison, fmt: str) -> str:
    table = comparison.fixed_budget_table()
    if fmt != "markdown":
        return format_table(table, fmt)
    caption = f"median best loss (its gap to f_opt where known) once {comparison.options.cost} reached each budget"
    return format_table(table, fmt, fixed_budget_columns(table)) + _wrap(caption)


def _stats_text(comparison: views.Comparison, fmt: str) -> str:
    parts, alpha = comparison.stats(), comparison.options.alpha
    tests = parts["tests"]
    if fmt != "markdown":
        return format_table(tests, fmt)
    significant = tests[tests["significant"]] if not tests.empty else tests
    text = _wrap(
        f"Significant differences (Mann-Whitney U, two-sided, Holm per problem, alpha {alpha:g}; final losses "
        f"closer than the tolerance tie, {comparison.options.tolerance_rule}, --tolerance; A: the chance a run of "
        "the better ends lower, ties half):"
    )
    text += format_table(significant, fmt, TEST_COLUMNS) if not significant.empty else "  none\n"
    text += f"{len(tests) - len(significant)} of {len(tests)} pairs show no significant difference.\n"
    text += _wrap(views.power_note(tests, alpha))
    ranks = parts["ranks"]
    if not ranks.empty and ranks["problems"].max() >= 2:
        friedman = parts["friedman"].iloc[0]
        text += f"\nAverage ranks of the median final loss over {ranks['problems'].max()} problems"
        text += f" (Friedman p = {friedman['p']:.3g}):\n" + format_table(ranks.drop(columns="problems"), fmt)
    return text + _wrap(comparison.reference_note())


def _wrap(text: str) -> str:
    return "".join(textwrap.fill(line, 118) + "\n" for line in text.splitlines() if line)
