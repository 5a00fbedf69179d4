"""A self-contained HTML report of a comparison: what was run, the summary, fixed-target
views, statistics, per-problem convergence, Pareto fronts. One file, no network access
needed to open it: figures are inline SVG, tables sort on a click, legend entries toggle
their line (a double click shows one alone)."""

from __future__ import annotations

import datetime
import html
import io
import json
import math
from importlib import resources
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from optbench.analysis import profile_plots, views
from optbench.analysis.formatting import number
from optbench.analysis.front_plots import front_plot, known_front
from optbench.analysis.plots import convergence, default_axis
from optbench.analysis.selection import ensure_configs
from optbench.analysis.tables import SUCCESS_RULE, nist_summary, summary
from optbench.analysis.verdict import verdict

TEXT_COLUMNS = {"problem", "optimizer", "budget", "statuses", "measure", "optimizer_a", "optimizer_b", "better",
                "target", "message", "status", "kind"}  # fmt: skip


def report_html(
    runs: pd.DataFrame,
    traces: pd.DataFrame,
    fronts: pd.DataFrame | None = None,
    options: views.Options | None = None,
    source: str = "",
    tuning: pd.DataFrame | None = None,
) -> str:
    """The self-contained HTML report of ``runs`` (as ``optbench.load_results`` or
    ``optbench.run`` return them) and their ``traces``; ``fronts`` are the stored Pareto
    fronts, if any; ``source`` says where the runs came from; ``tuning``, the runs of
    tunings with their roles (``optbench.tuning.study.with_roles``), if any. ``optbench
    report`` writes it."""
    runs, options = ensure_configs(runs), options or views.Options()
    origin = html.escape(f" from {source}" if source else "")
    sections = [
        ("setup", "What was run", _setup(runs)),
        ("summary", "Summary", _summary(runs)),
    ]
    if (~runs["status"].isin(["skipped", "failed"])).any():
        comparison = views.Comparison(runs, traces, options)
        sections.insert(0, ("verdict", "Verdict", _verdict(comparison)))
        sections += [
            ("fixed-target", "Fixed-target views", _fixed_target(comparison)),
            ("ert", "Expected running time", _ert(comparison)),
            ("stats", "Statistics", _stats(comparison)),
            ("convergence", "Convergence per problem", _convergence(comparison)),
        ]
    if fronts is not None and not fronts.empty:
        sections.append(("fronts", "Pareto fronts", _fronts(runs, fronts)))
    if tuning is not None and not tuning.empty:
        sections.append(("tuning", "Tuning", _tuning(tuning)))
    nav = " ".join(f'<a href="#{key}">{html.escape(title)}</a>' for key, title, _ in sections)
    body = "\n".join(
        f'<section id="{key}"><h2>{html.escape(title)}</h2>\n{content}</section>' for key, title, content in sections
    )
    css = resources.files("optbench.analysis").joinpath("report.css").read_text()
    js = resources.files("optbench.analysis").joinpath("report.js").read_text()
    when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>optbench report</title>
<style>{css}</style>
</head><body>
<h1>optbench report</h1>
<p class="note">{len(runs):,} runs of {runs["problem"].nunique()} problems and {runs["config"].nunique()} optimizer
configurations{origin}, written {when}. Click a table header to sort; click a legend
entry to hide or show its line, double-click to show it alone.</p>
<nav>{nav}</nav>
{body}
<script>{js}</script>
</body></html>
"""


def _setup(runs: pd.DataFrame) -> str:
    seeds = runs.groupby(["problem", "config"])["seed"].nunique()
    facts = {
        "suites": ", ".join(sorted(s or "(command line)" for s in set(runs["suite"]))),
        "problems": ", ".join(dict.fromkeys(runs["problem"])),
        "optimizer configurations": ", ".join(dict.fromkeys(runs["config"])),
        "budgets": ", ".join(dict.fromkeys(runs["budget_label"])),
        "seeds per configuration": f"{seeds.min()}" + (f" to {seeds.max()}" if seeds.max() != seeds.min() else ""),
        "optbench versions": ", ".join(sorted(set(runs["version"]))),
    }
    for column, title in (("host", "hosts"), ("device", "devices"), ("float64", "float64")):
        values = runs[column].dropna()
        if not values.empty:
            shown = sorted({("on" if v else "off") if column == "float64" else str(v) for v in values})
            facts[title] = ", ".join(shown)
    versions = runs["versions"].dropna()
    if not versions.empty:
        merged: dict[str, set[str]] = {}
        for text in set(versions):
            for package, version in json.loads(text).items():
                merged.setdefault(package, set()).add(version)
        facts["packages"] = ", ".join(f"{p} {'/'.join(sorted(v))}" for p, v in sorted(merged.items()))
    items = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in facts.items())
    out = f'<dl class="facts">{items}</dl>'
    problems = runs[runs["status"].isin(["skipped", "failed"])]
    if not problems.empty:
        reasons = problems.groupby(["status", "message"]).size().rename("runs").reset_index()
        out += "<h3>Skipped and failed runs</h3>" + table(reasons)
    return out


def _verdict(comparison: views.Comparison) -> str:
    """The computed verdict, then the headline figure; the detail follows in the sections below."""
    items = "".join(f"<li>{html.escape(line)}</li>" for line in verdict(comparison))
    return f'<ul class="verdict">{items}</ul>' + figure(
        profile_plots.ecdf_figure(comparison),
        "ecdf",
        "Runtime ECDF: the share of (run, target) pairs reached within a cost, over every problem "
        "and target (COCO's precisions 10^2 ... 10^-8 where the optimum is known); higher and further left is better.",
    )


# What the summary's columns hold (a metric's NAME_median is the problem's own score, NAME).
SUMMARY_COLUMNS = (
    "n_runs, n_skipped, n_success: runs, those skipped, and those ok (below); statuses: how the runs ended; "
    "fun_median, fun_q25, fun_q75, fun_best: the final loss over seeds (median, quartiles, lowest); "
    "NAME_median: the median of the problem's metric NAME (test accuracy, NIST's LRE); subopt_median: the median "
    "final loss minus the known optimum; nfev_median, time_s_median: evaluations and seconds a run (compiling "
    "apart: compile_s_median); n_target: runs that reached the target; nfev_to_target_median, "
    "time_to_target_median: their median evaluations and seconds to it"
)


def _summary(runs: pd.DataFrame) -> str:
    out = table(summary(runs)) + f'<p class="note">{html.escape(SUMMARY_COLUMNS)}. {html.escape(SUCCESS_RULE)}.</p>'
    nist = nist_summary(runs)
    if not nist.empty:
        out += "<h3>NIST StRD accuracy (cases reaching a minimum parameter LRE of 4, 6, 8)</h3>" + table(nist)
    return out


def _fixed_target(comparison: views.Comparison) -> str:
    options = comparison.options
    notes = f"{comparison.common[2]} {comparison.reference_note()}".strip()
    parts = [f'<p class="note">Cost axis: {options.cost}. {html.escape(notes)} The runtime ECDF is in the verdict.</p>']
    parts.append(
        figure(
            profile_plots.profile_figure(comparison),
            "profile",
            "Dolan-Moré performance profile over (problem, seed) instances: the share of instances on "
            "which a configuration was within a factor tau of the fastest.",
        )
    )
    if options.cost == "evals" and comparison.runs["n_params"].notna().all():
        parts.append(
            figure(
                profile_plots.data_profile_figure(comparison),
                "data-profile",
                "Moré-Wild data profile: the share of instances solved within alpha simplex "
                "gradients (n + 1 evaluations).",
            )
        )
    parts.append("<h3>Profile scores</h3>" + table(comparison.profile_table()))
    parts.append(
        '<p class="note">solved: share of instances reaching the target; rho_1, rho_2, rho_4: the '
        "performance profile at tau = 1, 2, 4; score: AlgoPerf's area under the profile over tau in "
        "[1, 4], divided by 3.</p>"
    )
    return "\n".join(parts)


def _ert(comparison: views.Comparison) -> str:
    erts = comparison.ert_table().drop(columns=["level"])
    return collapsed(f"ERT per problem, configuration and target ({len(erts)} rows)", table(erts)) + (
        f'<p class="note">ERT: the {comparison.options.cost} a configuration needs on average to reach a target, '
        "counting the whole cost of runs that missed it: (sum of hitting times + sum of the costs of runs that "
        "missed) / number that reached it; inf when none did. ert_ci_low/high: 95% percentile bootstrap interval "
        "over the runs.</p>"
    )


def _stats(comparison: views.Comparison) -> str:
    parts, alpha = comparison.stats(), comparison.options.alpha
    tests = parts["tests"]
    out = collapsed("Medians with 95% bootstrap intervals", table(parts["medians"]))
    out += (
        f"<h3>Pairwise tests (Mann-Whitney U, two-sided, Holm-corrected per problem, alpha {alpha:g})</h3>"
        '<p class="note">significant: Holm p at most alpha and medians further apart than the tolerance '
        f"(final losses: {html.escape(comparison.options.tolerance_rule)}); A: the chance that "
        "a run of optimizer_a ends lower than one of optimizer_b, ties (within the tolerance) half.</p>"
        + (
            collapsed(
                f"{int(tests['significant'].sum())} of {len(tests)} pairs significant", table(tests, "significant")
            )
            if not tests.empty
            else "<p>No pairs to compare.</p>"
        )
        + f'<p class="note">{html.escape(views.power_note(tests, alpha))}</p>'
    )
    ranks, friedman = parts["ranks"], parts["friedman"].iloc[0]
    if not ranks.empty and ranks["problems"].max() >= 2:
        out += (
            f"<h3>Average ranks of the median final loss over {ranks['problems'].max()} problems</h3>"
            + table(ranks)
            + f'<p class="note">Friedman test: chi-square {number(friedman["statistic"], 4)}, '
            f"p = {number(friedman['p'], 3)}.</p>"
        )
        if len(ranks) >= 2:
            from optbench.analysis.rank_plots import cd_figure

            out += figure(
                cd_figure(comparison),
                "cd",
                "Critical-difference diagram (Demšar 2006): configurations joined by a bar have average ranks "
                "within Nemenyi's critical difference, so the test cannot tell them apart.",
            )
    return out


def _convergence(comparison: views.Comparison) -> str:
    runs, traces = comparison.runs, comparison.traces
    x = default_axis(runs)
    parts = []
    for problem in dict.fromkeys(runs["problem"]):
        parts.append(figure(convergence(runs, traces, problem, x), f"conv-{len(parts)}", f"{problem}, against {x}."))
    return "\n".join(parts)


def _fronts(runs: pd.DataFrame, fronts: pd.DataFrame) -> str:
    problems = dict.fromkeys(runs.loc[runs["run_id"].isin(fronts["run_id"].unique()), "problem"])
    return "\n".join(
        figure(front_plot(runs, fronts, p, known_front(p)), f"front-{i}", f"{p}: final fronts.")
        for i, p in enumerate(problems)
    )


def _tuning(frame: pd.DataFrame) -> str:
    """What ``optbench tune`` found (``tuned_table``), then each problem's sensitivity figure."""
    from optbench.analysis.tuning_plots import sensitivity_figure
    from optbench.errors import OptbenchError
    from optbench.tuning.study import tuned_table

    out = table(tuned_table(frame))
    for problem in dict.fromkeys(frame["problem"]):
        try:
            fig = sensitivity_figure(frame, problem)
        except OptbenchError:  # nothing was searched on it
            continue
        out += figure(fig, f"tuning-{problem}", f"{problem}: every trial, each study's selection starred")
        plt.close(fig)
    return out


def table(frame: pd.DataFrame, highlight: str | None = None) -> str:
    """A sortable HTML table; numeric cells carry their exact value for sorting."""
    if frame.empty:
        return "<p>(none)</p>"
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for record in frame.to_dict("records"):
        cells = []
        for column, value in record.items():
            if column in TEXT_COLUMNS or isinstance(value, str):
                cells.append(f'<td class="text">{html.escape(str(value))}</td>')
            else:
                sort = _sort_value(value)
                cells.append(f'<td data-sort="{sort}">{html.escape(number(value))}</td>')
        mark = ' class="significant"' if highlight and record.get(highlight) else ""
        rows.append(f"<tr{mark}>{''.join(cells)}</tr>")
    body = "".join(rows)
    sortable = f'<table class="sortable"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    return f'<div class="scroll">{sortable}</div>'


def collapsed(title: str, content: str) -> str:
    """Detail a reader opens on demand (the verdict and the figures come first)."""
    return f"<details><summary>{html.escape(title)}</summary>\n{content}</details>"


def figure(fig: Any, key: str, caption: str) -> str:
    """A matplotlib figure as inline SVG, its legend entries tied to their lines."""
    _tag_series(fig, key)
    buffer = io.StringIO()
    with plt.rc_context({"svg.fonttype": "none", "svg.hashsalt": key}):
        fig.savefig(buffer, format="svg")
    plt.close(fig)
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]
    return f'<figure id="{key}">{svg}<figcaption>{html.escape(caption)}</figcaption></figure>'


def _tag_series(fig: Any, key: str) -> None:
    """Give each legend entry and the artists of its series ids ``<series>-...`` that the
    report's script uses to toggle them."""
    count = 0
    for ax in fig.axes:
        legends = [ax.get_legend()] if ax.get_legend() else []
        for legend in legends + (list(fig.legends) if ax is fig.axes[0] else []):
            owners = fig.axes if legend in fig.legends else [ax]
            for handle, text in zip(legend.legend_handles, legend.get_texts()):
                series, label = f"{key}-s{count}", text.get_text()
                count += 1
                handle.set_gid(f"{series}-leg-line")
                text.set_gid(f"{series}-leg-text")
                members = [
                    artist
                    for owner in owners
                    for artist in [*owner.lines, *owner.collections]
                    if artist.get_label() in (label, f"_band {label}", f"_cross {label}")
                ]
                for i, artist in enumerate(members):
                    artist.set_gid(f"{series}-a{i}")


def _sort_value(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return str(int(value))
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return repr(float(value)) if isinstance(value, (int, float, np.number)) else html.escape(str(value))
