"""Summary tables: per problem and optimizer configuration, statistics over seeds."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd

from optbench.errors import OptbenchError

FORMATS = ("markdown", "csv", "latex")
# A terminal is narrow: markdown shows these; CSV and LaTeX carry every column.
TERMINAL_COLUMNS = [
    "problem",
    "optimizer",
    "n_runs",
    "statuses",
    "fun_median",
    "fun_q25",
    "fun_q75",
    "subopt_median",
    "nfev_median",
    "time_s_median",
    "n_target",
    "nfev_to_target_median",
    "compile_s_median",
]


def filter_runs(
    runs: pd.DataFrame,
    problems: Iterable[str] = (),
    optimizers: Iterable[str] = (),
    suites: Iterable[str] = (),
) -> pd.DataFrame:
    """The runs whose problem, optimizer and suite match (by name or full spec)."""
    keep = pd.Series(True, index=runs.index)
    for values, columns in ((problems, ("problem", "problem_name")), (optimizers, ("optimizer", "optimizer_name"))):
        wanted = set(values)
        if wanted:
            keep &= runs[columns[0]].isin(wanted) | runs[columns[1]].isin(wanted)
    wanted_suites = set(suites)
    if wanted_suites:
        keep &= runs["suite"].isin(wanted_suites)
    return runs[keep]


def summary(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (problem, optimizer configuration): runs, statuses, final loss quartiles,
    suboptimality where the optimum is known, evaluations and time (to target), compile time."""
    rows = []
    for (problem, optimizer), group in runs.groupby(["problem", "optimizer"], sort=False):
        ran = group[group["status"] != "skipped"]
        fun = ran["fun"].astype(float)
        subopt = fun - ran["f_opt"].astype(float)
        counts = group["status"].value_counts()
        rows.append(
            {
                "problem": problem,
                "optimizer": optimizer,
                "n_runs": len(group),
                "statuses": ", ".join(f"{n} {status}" for status, n in counts.items()),
                "n_success": int(group["success"].sum()),
                "fun_median": _quantile(fun, 0.5),
                "fun_q25": _quantile(fun, 0.25),
                "fun_q75": _quantile(fun, 0.75),
                "fun_best": float(fun.min()) if fun.notna().any() else math.nan,
                # Beside the training loss: the problem's own scores (test accuracy, LRE).
                **{f"{m}_median": _quantile(ran[m], 0.5) for m in metric_columns(runs)},
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
    return table.sort_values(["problem", "fun_median"], na_position="last", kind="stable").reset_index(drop=True)


def metric_columns(runs: pd.DataFrame) -> list[str]:
    """The problem metrics stored with the runs (final test accuracy, LRE, ...)."""
    from optbench.store import RUN_COLUMNS

    return [c for c in runs.columns if c not in RUN_COLUMNS]


def nist_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Per optimizer configuration, over the NIST StRD (problem, start) cases it ran: how
    many reach a minimum parameter LRE of 4, 6 and 8 (median over seeds; failed runs score 0)."""
    nist = runs[runs["problem_name"].str.startswith("nist_") & (runs["status"] != "skipped")]
    if nist.empty or "lre" not in nist:
        return pd.DataFrame()
    cases = nist.assign(lre=nist["lre"].fillna(0.0)).groupby(["optimizer", "problem"], sort=False)["lre"].median()
    rows = [
        {
            "optimizer": optimizer,
            "cases": len(scores),
            "lre_ge_4": int((scores >= 4).sum()),
            "lre_ge_6": int((scores >= 6).sum()),
            "lre_ge_8": int((scores >= 8).sum()),
            "lre_median": float(scores.median()),
        }
        for optimizer, scores in cases.groupby(level="optimizer", sort=False)
    ]
    return pd.DataFrame(rows).sort_values(["lre_ge_6", "lre_ge_4"], ascending=False).reset_index(drop=True)


def format_table(table: pd.DataFrame, fmt: str = "markdown") -> str:
    """The table as markdown, CSV or a LaTeX tabular."""
    if fmt == "csv":
        return table.to_csv(index=False)
    if fmt not in FORMATS:
        raise OptbenchError(f"unknown table format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "markdown" and "problem" in table:
        table = table[[c for c in table.columns if c in TERMINAL_COLUMNS or c.endswith("_median")]]
    cells = [[_cell(v) for v in row] for row in table.itertuples(index=False)]
    header = list(table.columns)
    if fmt == "latex":
        escape = lambda s: s.replace("\\", "\\textbackslash{}").replace("_", "\\_").replace("&", "\\&")
        lines = [
            "\\begin{tabular}{" + "l" * 2 + "r" * (len(header) - 2) + "}",
            "\\hline",
            " & ".join(map(escape, header)) + " \\\\",
            "\\hline",
            *(" & ".join(map(escape, row)) + " \\\\" for row in cells),
            "\\hline",
            "\\end{tabular}",
        ]
        return "\n".join(lines) + "\n"
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(header)]
    line = lambda row: "| " + " | ".join(v.ljust(w) for v, w in zip(row, widths)) + " |"
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), rule, *(line(r) for r in cells)]) + "\n"


def _quantile(values: pd.Series, q: float) -> float:
    finite = values.astype(float).dropna()
    return float(np.quantile(finite, q)) if len(finite) else math.nan


def _cell(value: object) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4g}"
    return str(value)
