"""The ``optbench`` command line: list, run, table, plot.

Only argparse is imported at start; each command imports what it needs, so ``--help``
never loads JAX. Errors in what the user asked for end in one message and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_DB = "results/optbench.sqlite"


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 0
    from optbench.errors import OptbenchError

    try:
        return args.handler(args)
    except OptbenchError as err:
        print(f"optbench: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "\noptbench: interrupted; finished runs are stored, run the same command again to resume", file=sys.stderr
        )
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="optbench",
        description="Compare optimization algorithms on the same problems under the same budget.",
        epilog="Spec strings set parameters: 'quadratic[n=500,noise=0.2]', 'adam[learning_rate=[0.1,0.01]]' "
        "(a list is a grid: one configuration per value).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    lister = sub.add_parser("list", help="list problems, optimizers or suites")
    lister.add_argument("what", choices=["problems", "optimizers", "suites"])
    _plugins(lister)
    lister.set_defaults(handler=_list)

    runner = sub.add_parser("run", help="run a suite, or problems x optimizers, and store the runs")
    runner.add_argument("suite", nargs="?", help="a suite name (see `optbench list suites`) or a .toml file")
    runner.add_argument(
        "-p", "--problem", action="append", default=[], metavar="SPEC", help="problem spec (repeatable)"
    )
    runner.add_argument(
        "-o",
        "--optimizer",
        action="append",
        default=[],
        metavar="SPEC",
        help="optimizer spec, lists make grids (repeatable)",
    )
    runner.add_argument("--seeds", type=int, help="number of seeds (default: the suite's, else 1)")
    runner.add_argument("--max-steps", type=int, help="step budget per run")
    runner.add_argument("--max-evals", type=int, help="function-evaluation budget per run")
    runner.add_argument("--max-time", type=float, metavar="SECONDS", help="wall-time budget per run")
    runner.add_argument("--max-epochs", type=float, help="budget in passes over the training data per run")
    runner.add_argument("--target", type=float, metavar="LOSS", help="stop a run once its loss is at or below LOSS")
    runner.add_argument("--no-progress", action="store_true", help="do not draw the progress bar")
    _db(runner)
    _plugins(runner)
    runner.set_defaults(handler=_run)

    table = sub.add_parser("table", help="summary table of the stored runs")
    table.add_argument("--format", choices=["markdown", "csv", "latex"], default="markdown")
    table.add_argument("--output", metavar="FILE", help="write the table to FILE instead of printing it")
    table.add_argument("--nist", action="store_true", help="only the per-optimizer NIST StRD accuracy summary")
    _db(table)
    _filters(table)
    table.set_defaults(handler=_table)

    plot = sub.add_parser("plot", help="convergence plots (or Pareto fronts) of the stored runs")
    plot.add_argument(
        "--kind",
        choices=["convergence", "front"],
        default="convergence",
        help="convergence curves (default), or the final Pareto fronts of multi-objective runs",
    )
    plot.add_argument(
        "--x", choices=["steps", "evals", "epochs", "time"], default="steps", help="x axis (default: steps)"
    )
    plot.add_argument(
        "--hue",
        metavar="PARAM",
        help="one line per value of this hyperparameter, on a colour scale (e.g. learning_rate)",
    )
    plot.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        help="a .png/.pdf/.svg file (one problem), or a folder (default: results/plots)",
    )
    _db(plot)
    _filters(plot)
    plot.set_defaults(handler=_plot)
    return parser


def _db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", default=DEFAULT_DB, metavar="PATH", help=f"results database (default: {DEFAULT_DB})")


def _plugins(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--plugins",
        action="append",
        default=[],
        metavar="DIR",
        help="load problem and optimizer files from DIR (repeatable)",
    )


def _filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--problem", action="append", default=[], help="only this problem (name or spec)")
    parser.add_argument("--optimizer", action="append", default=[], help="only this optimizer (name or spec)")
    parser.add_argument("--suite", action="append", default=[], help="only runs of this suite")


def _list(args: argparse.Namespace) -> int:
    from optbench.registry import REGISTRY

    REGISTRY.load_plugins(args.plugins)
    if args.what == "suites":
        from optbench.suite import list_suites

        for suite in list_suites(args.plugins):
            print(f"{suite.name:<20} {suite.description}")
        return 0
    if args.what == "optimizers":
        for name in REGISTRY.names("optimizer"):
            entry = REGISTRY.get("optimizer", name)
            print(f"{name:<12} {entry.family:<12} requires {','.join(sorted(entry.requires)):<16} {entry.description}")
        return 0
    for name in REGISTRY.names("problem"):
        entry = REGISTRY.get("problem", name)
        caps = ",".join(sorted(REGISTRY.problem(name).capabilities))
        print(f"{name:<18} {caps:<38} {entry.description}")
    return 0


def _run(args: argparse.Namespace) -> int:
    from optbench.budget import Budget
    from optbench.errors import OptbenchError
    from optbench.progress import Progress
    from optbench.registry import REGISTRY
    from optbench.runner import execute, plan
    from optbench.store import ResultStore
    from optbench.suite import find_suite, load_suite

    REGISTRY.load_plugins(args.plugins)
    suite = load_suite(find_suite(args.suite, args.plugins)) if args.suite else None
    problems = args.problem or (suite.problems if suite else [])
    optimizers = args.optimizer or (suite.optimizers if suite else [])
    if not problems or not optimizers:
        raise OptbenchError("give a suite name, or at least one -p PROBLEM and one -o OPTIMIZER")
    given = {
        "max_steps": args.max_steps,
        "max_evals": args.max_evals,
        "max_time": args.max_time,
        "target": args.target,
        "max_epochs": args.max_epochs,
    }
    given = {k: v for k, v in given.items() if v is not None}
    # Budget options on the command line replace the suite's budget as a whole.
    budget = Budget(**given) if given or suite is None else suite.budget
    seeds = args.seeds if args.seeds is not None else (suite.seeds if suite else 1)
    runs = plan(problems, optimizers, seeds, budget, suite.name if suite else "")
    store = ResultStore(args.db)  # opened after every check passed, so bad input leaves it untouched
    try:
        stored = store.run_ids()
        todo = sum(run.run_id not in stored for run in runs)
        print(f"{len(runs)} runs planned, {len(runs) - todo} already stored, {todo} to run", file=sys.stderr)
        progress = Progress(todo, show=not args.no_progress)
        try:
            execute(runs, store, progress.update)
        finally:
            progress.close()
        print(_table_text(store.load([r.run_id for r in runs]).runs), end="")
        print(f"stored in {args.db}", file=sys.stderr)
    finally:
        store.close()
    return 0


def _load(args: argparse.Namespace):
    from optbench.analysis.tables import filter_runs
    from optbench.errors import OptbenchError
    from optbench.store import load_results

    runs, traces = load_results(args.db)
    runs = filter_runs(runs, args.problem, args.optimizer, args.suite)
    if runs.empty:
        raise OptbenchError(f"no stored runs in {args.db} match the filters")
    return runs, traces


def _table_text(runs, fmt: str = "markdown", nist_only: bool = False) -> str:
    """The summary table; in a terminal, followed by the NIST StRD accuracy summary."""
    from optbench.analysis.tables import format_table, nist_summary, summary
    from optbench.errors import OptbenchError

    nist = nist_summary(runs)
    if nist_only:
        if nist.empty:
            raise OptbenchError("no NIST StRD runs match the filters")
        return format_table(nist, fmt)
    text = format_table(summary(runs), fmt)
    if fmt == "markdown" and not nist.empty:
        text += "\nNIST StRD accuracy (cases reaching a minimum parameter LRE of 4, 6, 8):\n"
        text += format_table(nist, fmt)
    return text


def _table(args: argparse.Namespace) -> int:
    runs, _ = _load(args)
    text = _table_text(runs, args.format, args.nist)
    if args.output:
        Path(args.output).write_text(text)
        print(args.output)
    else:
        print(text, end="")
    return 0


def _plot(args: argparse.Namespace) -> int:
    from optbench.analysis.plots import convergence

    if args.kind == "front":
        return _plot_fronts(args)
    runs, traces = _load(args)
    traces = traces[traces["run_id"].isin(runs["run_id"])]
    draw = lambda problem: convergence(runs, traces, problem, args.x, args.hue)
    return _save_plots(list(dict.fromkeys(runs["problem"])), args.output, args.x, draw)


def _plot_fronts(args: argparse.Namespace) -> int:
    """One plot of final Pareto fronts per multi-objective problem among the runs."""
    from optbench.analysis.front_plots import front_plot, known_front
    from optbench.errors import OptbenchError
    from optbench.store import ResultStore

    runs, _ = _load(args)
    store = ResultStore(args.db, create=False)
    try:
        fronts = store.fronts(runs["run_id"])
    finally:
        store.close()
    problems = list(dict.fromkeys(runs.loc[runs["run_id"].isin(fronts["run_id"]), "problem"]))
    if not problems:
        raise OptbenchError("no stored Pareto fronts match the filters; run a Pareto method (nsga2) first")
    draw = lambda problem: front_plot(runs, fronts, problem, known_front(problem))
    return _save_plots(problems, args.output, "front", draw)


def _save_plots(problems: list[str], output: str | None, suffix: str, draw) -> int:
    """Save ``draw(problem)`` for each problem: to ``output`` when it names one image file
    (one problem only), else as ``PROBLEM_SUFFIX.png`` in the folder ``output``."""
    import matplotlib.pyplot as plt

    from optbench.errors import OptbenchError

    folder = Path(output or "results/plots")
    single = folder.suffix.lower() in (".png", ".pdf", ".svg")
    if single and len(problems) > 1:
        raise OptbenchError(f"{len(problems)} problems match; give --problem, or a folder as the output")
    for problem in problems:
        path = folder if single else folder / f"{_file_name(problem)}_{suffix}.png"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fig = draw(problem)
            fig.savefig(path, dpi=120)
            plt.close(fig)
        except OSError as err:
            raise OptbenchError(f"cannot write plot {str(path)!r}: {err}") from None
        print(path)
    return 0


def _file_name(spec: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in spec).strip("_")


if __name__ == "__main__":
    raise SystemExit(main())
