"""``optbench table``, ``plot``, ``report`` and ``export``: views of the stored runs."""

from __future__ import annotations

import argparse
import contextlib
import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from optbench.errors import OptbenchError
from optbench.spec import file_name

IMAGE_SUFFIXES = (".png", ".pdf", ".svg")


class Selection:
    """The stored runs the filters select, with their config labels; traces on demand."""

    def __init__(self, args: argparse.Namespace):
        from optbench.analysis.selection import filter_runs, with_configs
        from optbench.registry import REGISTRY
        from optbench.store import ResultStore

        _refuse_paths(args.optimizer)
        self.db = args.db
        if args.plugins:  # else nothing is imported: the views need no registry
            REGISTRY.load_plugins(args.plugins)
        with ResultStore(args.db, create=False) as store:
            runs = store.runs()
            remembered = store.plugin_folders()
        if runs.empty:
            raise OptbenchError(f"the results database {args.db} holds no runs; `optbench run` adds some")
        runs = filter_runs(runs, args.problem, args.optimizer, args.suite)
        if runs.empty:
            raise OptbenchError(
                f"no stored runs in {args.db} match the filters (problem, optimizer and suite together)"
            )
        self.runs = with_configs(runs, args.by)
        if getattr(args, "tuned", False):
            self.runs = self._tuned_configurations()
        _load_remembered(remembered, self.runs)

    @functools.cached_property
    def traces(self) -> pd.DataFrame:
        """The selected runs' traces, read on first use."""
        from optbench.store import ResultStore

        with ResultStore(self.db, create=False) as store:
            return store.traces(self.runs["run_id"])

    def fronts(self) -> pd.DataFrame:
        from optbench.store import ResultStore

        with ResultStore(self.db, create=False) as store:
            return store.fronts(self.runs["run_id"])

    def tuning(self) -> pd.DataFrame:
        """The selected runs that belong to a tuning, a row per role each has in it
        (``optbench.tuning.study.with_roles``); empty where none does."""
        from optbench.store import ResultStore
        from optbench.tuning.study import with_roles

        with ResultStore(self.db, create=False) as store:
            tuning = store.tuning()
        return with_roles(self.runs.drop(columns=["config"], errors="ignore"), tuning)

    def _tuned_configurations(self) -> pd.DataFrame:
        """``--tuned``: the selected runs that scored a tuning on fresh seeds, one
        configuration per optimizer and role: the median study's selection (the one the
        tuned table shows) as ``adam tuned``, its defaults as ``adam default``, one run per
        fresh seed each (a run that is both, for an optimizer with nothing to tune, is its
        tuned one)."""
        from optbench.tuning.study import RULES, median_study, study_scores

        frame = self.tuned()
        kept = []
        for (_, _, rule, _), mine in frame.groupby(["problem", "tuned_optimizer", "rule", "tuning"], sort=False):
            tuned = mine[mine["role"] == "tuned"]
            if len(tuned):
                kept.append(tuned[tuned["study"] == median_study(study_scores(tuned, RULES[rule].measure))])
            kept.append(mine[mine["role"] == "default"])
        finals = pd.concat(kept).drop_duplicates("run_id")
        configs = finals["tuned_optimizer"] + " " + finals["role"]
        several = finals.groupby("tuned_optimizer")["tuning"].transform("nunique") > 1  # told apart by their ids
        configs = configs.where(~several, configs + " [" + finals["tuning"].str[:6] + "]")
        runs = self.runs.set_index("run_id").loc[finals["run_id"]].reset_index()
        return runs.assign(config=configs.to_numpy())

    def tuned(self) -> pd.DataFrame:
        """``tuning()``, refused where it is empty."""
        frame = self.tuning()
        if frame.empty:
            raise OptbenchError(f"no selected run in {self.db} belongs to a tuning; `optbench tune` makes one")
        return frame


def _load_remembered(folders: dict[str, str], runs: pd.DataFrame) -> None:
    """Load the plugin folders the database remembers, where a selected run's problem or
    optimizer is not registered otherwise; a folder that is gone, changed or broken is a
    warning (only views that rebuild a problem need it, and they say so)."""
    from optbench.errors import PluginError
    from optbench.registry import REGISTRY, plugin_digest

    if not folders:
        return
    unknown = {("problem", n) for n in runs["problem_name"]} | {("optimizer", n) for n in runs["optimizer_name"]}
    if all(REGISTRY.knows(kind, name) for kind, name in unknown):
        return
    for folder, digest in folders.items():
        if not Path(folder).is_dir():
            print(f"optbench: warning: plugin folder {folder} that runs here were made with is gone; "
                  "give --plugins where it is now", file=sys.stderr)  # fmt: skip
            continue
        try:
            REGISTRY.load_plugins([folder])
        except PluginError as err:
            print(f"optbench: warning: {err}", file=sys.stderr)
            continue
        if plugin_digest(folder) != digest:
            print(f"optbench: warning: plugin folder {folder} changed since runs were stored from it; "
                  "views that rebuild its problems use the code as it is now", file=sys.stderr)  # fmt: skip


def table_command(args: argparse.Namespace) -> int:
    from optbench.analysis.terminal import summary_text, view_text
    from optbench.analysis.views import Comparison

    options = _options(args)  # checked before any work
    selection = Selection(args)
    if args.view == "summary":
        text = summary_text(selection.runs, args.format, args.nist)
    elif args.view == "tuned":
        text = _tuned_text(selection, args.format)
    else:
        text = view_text(args.view, Comparison(selection.runs, selection.traces, options), args.format)
    if args.output:
        _write(Path(args.output), lambda path: path.write_text(text), args.db)
        print(args.output)
    else:
        print(text, end="")
    return 0


def _tuned_text(selection: Selection, fmt: str) -> str:
    """The tuned view: ``optbench.tuning.study.tuned_table`` of the selected runs' tunings."""
    from optbench.analysis.formatting import format_table
    from optbench.tuning.study import tuned_table

    return format_table(tuned_table(selection.tuned()), fmt)


def plot_command(args: argparse.Namespace) -> int:
    from optbench.analysis import plots, profile_plots
    from optbench.analysis.views import Comparison

    _files_only()
    options = _options(args, cost=args.x or "evals")
    if args.kind == "data-profile" and options.cost != "evals":
        raise OptbenchError("data profiles count evaluations: use --x evals")
    selection = Selection(args)
    runs = selection.runs
    if args.kind == "front":
        return _plot_fronts(args, selection)
    problems = list(dict.fromkeys(runs.loc[~runs["status"].isin(["skipped", "failed"]), "problem"]))
    if not problems:
        raise OptbenchError("every selected run was skipped or failed: nothing to plot")
    if args.kind == "convergence":
        x = args.x or plots.default_axis(runs)
        draw = lambda problem: plots.convergence(runs, selection.traces, problem, x, args.hue)
        return _save(_single_problem(args, runs, problems) or problems, args.output, x, draw, args.db)
    if args.kind == "metric":
        x = args.x or plots.default_axis(runs)
        draw = lambda problem: plots.convergence(runs, selection.traces, problem, x, args.hue, args.metric)
        return _draw_each(args, runs, problems, draw, f"{args.metric}_{x}")
    if args.kind == "tuning":
        return _draw_each(args, runs, problems, _tuning_figure(selection), "tuning")
    if args.kind in ("fit", "boundary", "lr"):
        return _draw_each(args, runs, problems, _learned(args, selection), args.kind)
    if args.kind == "fixed-budget":  # drawn before any file is written; a problem with nothing finite is left out
        draw = lambda problem: profile_plots.fixed_budget_figure(runs, selection.traces, problem, options.cost)
        return _draw_each(args, runs, problems, draw, "fixed_budget")
    comparison = Comparison(runs, selection.traces, options)
    name = args.kind.replace("-", "_")
    if args.kind == "cd":
        from optbench.analysis.rank_plots import cd_figure

        fig = cd_figure(comparison)  # one it cannot draw is an error before any file is written
        draw = lambda _: fig
    else:
        draw = lambda _: profile_plots.FIGURES[args.kind](comparison)
    return _save(["all"], args.output, name, draw, args.db, name=name)


def report_command(args: argparse.Namespace) -> int:
    from optbench.analysis.report import report_html

    path = Path(args.output)
    if path.suffix.lower() not in (".html", ".htm"):
        raise OptbenchError(f"the report is an HTML file; give --output with .html, not {str(path)!r}")
    options = _options(args)
    _files_only()
    selection = Selection(args)
    html = report_html(
        selection.runs, selection.traces, selection.fronts(), options, str(selection.db), selection.tuning()
    )
    _write(path, lambda p: p.write_text(html, encoding="utf-8"), args.db)
    print(path)
    return 0


def export_command(args: argparse.Namespace) -> int:
    from optbench.analysis.export import export

    selection = Selection(args)
    written = export(selection.runs, selection.traces, selection.fronts(), args.format, Path(args.output), args.db)
    print(f"{len(written)} files in {args.output}", file=sys.stderr)
    for path in written:
        print(path)
    return 0


def _plot_fronts(args: argparse.Namespace, selection: Selection) -> int:
    """One plot of final Pareto fronts per multi-objective problem among the runs."""
    from optbench.analysis.front_plots import front_plot, known_front

    runs, fronts = selection.runs, selection.fronts()
    problems = list(dict.fromkeys(runs.loc[runs["run_id"].isin(fronts["run_id"].unique()), "problem"]))
    if not problems:
        raise OptbenchError("no stored Pareto fronts match the filters; run a Pareto method (nsga2) first")
    draw = lambda problem: front_plot(runs, fronts, problem, known_front(problem))
    return _save(_single_problem(args, runs, problems) or problems, args.output, "front", draw, args.db)


def _learned(args: argparse.Namespace, selection: Selection) -> Callable[[str], Any]:
    """What draws fitted curves, decision boundaries or hyperparameter sensitivity."""
    from optbench.analysis import learned

    runs = selection.runs
    if args.kind == "fit":
        return lambda problem: learned.fit_figure(runs, problem)
    if args.kind == "boundary":
        return lambda problem: learned.boundary_figure(runs, selection.traces, problem)
    return lambda problem: learned.sensitivity_figure(runs, selection.traces, problem, args.hue or "learning_rate")


def _tuning_figure(selection: Selection) -> Callable[[str], Any]:
    """What draws a problem's tuning: every trial against each hyperparameter tuned."""
    from optbench.analysis.tuning_plots import sensitivity_figure

    frame = selection.tuned()
    return lambda problem: sensitivity_figure(frame, problem)


def _draw_each(
    args: argparse.Namespace, runs: pd.DataFrame, problems: list[str], draw: Callable[[str], Any], suffix: str
) -> int:
    """One figure per problem, for kinds that apply to some problems only. Every figure
    is drawn before any file is written; problems the kind does not apply to (a decision
    boundary of a curve fit) are left out with the reason, and where it applies to none,
    that is the error."""
    figures, reasons = {}, []
    for problem in _single_problem(args, runs, problems) or problems:
        try:
            figures[problem] = draw(problem)
        except OptbenchError as err:
            reasons.append(str(err))
    if not figures:
        if len(reasons) == 1:
            raise OptbenchError(reasons[0])
        raise OptbenchError(
            f"--kind {args.kind} applies to none of the {len(reasons)} problems: {'; '.join(reasons[:3])}"
        )
    for reason in reasons:
        print(f"left out: {reason}", file=sys.stderr)
    return _save(list(figures), args.output, suffix, figures.__getitem__, args.db)


def _single_problem(args: argparse.Namespace, runs: pd.DataFrame, problems: list[str]) -> list[str] | None:
    """Where one image file is asked for and several problems match: the one the
    --problem filter names exactly, else a clear error naming them."""
    from optbench.analysis.selection import exact_problem

    if not _is_image(args.output) or len(problems) <= 1:
        return None
    exact = exact_problem(runs, args.problem) if args.problem else None
    if exact in problems:
        return [exact]
    listed = ", ".join(problems[:6]) + (", ..." if len(problems) > 6 else "")
    raise OptbenchError(
        f"{len(problems)} problems match ({listed}) but {args.output} is one image; "
        "give one problem spec with --problem, or a folder as --output"
    )


def _save(
    problems: list[str], output: str | None, suffix: str, draw: Callable[[str], Any], db: str, name: str = ""
) -> int:
    """Save ``draw(problem)`` for each problem: to ``output`` when it names one image file
    (one problem only), else as ``PROBLEM_SUFFIX.png`` (or ``NAME.png``) in the folder ``output``."""
    import matplotlib.pyplot as plt

    folder = Path(output or "results/plots")
    single = _is_image(output)
    for problem in problems:
        path = folder if single else folder / f"{name or file_name(problem) + '_' + suffix}.png"
        fig = draw(problem)
        _write(path, lambda p, fig=fig: fig.savefig(p, dpi=120), db)
        plt.close(fig)
        print(path)
    return 0


def _write(path: Path, write: Callable[[Path], Any], db: str) -> None:
    """Write a file through a temporary sibling, renamed into place: never half a file,
    never over a folder, the results database or any other SQLite database."""
    from optbench.store.connection import output_refusal

    refusal = output_refusal(path, db)
    if refusal is not None:
        raise OptbenchError(f"--output {str(path)!r} {refusal}; give a file name")
    partial = path.with_name(f".{path.name}.partial{path.suffix}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(partial)
        partial.replace(path)
    except OSError as err:
        raise OptbenchError(f"cannot write {str(path)!r}: {err.strerror or err}") from None
    finally:  # a full disk, a Ctrl-C: no hidden half file is left behind
        with contextlib.suppress(OSError):
            partial.unlink()


def _files_only() -> None:
    """The commands write image files and never open a window: matplotlib's file-only
    backend. (The library's figure functions leave the backend alone, so a notebook shows
    their figures inline.)"""
    import matplotlib

    matplotlib.use("Agg")


def _options(args: argparse.Namespace, cost: str | None = None) -> Any:
    from optbench.analysis.views import Options

    alpha, tolerance = getattr(args, "alpha", 0.05), getattr(args, "tolerance", None)
    if not 0 < alpha < 1:
        raise OptbenchError(f"--alpha must be between 0 and 1, got {alpha}")
    if tolerance is not None and not 0 <= tolerance < float("inf"):
        raise OptbenchError(f"--tolerance must be a finite number of at least 0, got {tolerance}")
    if args.level is not None and not args.level > 0:
        raise OptbenchError(f"--level must be positive, got {args.level}")
    return Options(cost or args.cost, args.targets, args.level, alpha, tolerance)


def _refuse_paths(optimizers: list[str]) -> None:
    for value in optimizers:
        if "/" in value or value.lower().endswith((*IMAGE_SUFFIXES, ".html", ".csv")):
            raise OptbenchError(f"-o means --optimizer in every command; to write to {value!r}, use --output {value}")


def _is_image(output: str | None) -> bool:
    return output is not None and Path(output).suffix.lower() in IMAGE_SUFFIXES
