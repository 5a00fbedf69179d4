"""The command line's arguments. Every command that reads stored runs takes the same
filters, and ``-p``/``-o`` mean ``--problem``/``--optimizer`` in every command."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from typing import Any

DEFAULT_DB = "results/optbench.sqlite"
COSTS = ["evals", "grads", "steps", "epochs", "time"]
VIEWS = ["summary", "ert", "stats", "profile", "fixed-budget", "tuned"]
PLOT_KINDS = [
    "convergence",
    "metric",
    "ecdf",
    "profile",
    "data-profile",
    "fixed-budget",
    "cd",
    "front",
    "fit",
    "boundary",
    "lr",
    "tuning",
]


_WHOLE = re.compile(r"[+-]?[0-9]+")
_REAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|[+-]?(inf|nan)", re.IGNORECASE)


def whole(text: str) -> int:
    """An integer option, in ASCII digits: Python's ``int`` also reads '１' and '1_000'."""
    if not _WHOLE.fullmatch(text.strip()):
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a whole number")
    return int(text)


def real(text: str) -> float:
    """A number option, in ASCII digits (checked for range where it is used)."""
    if not _REAL.fullmatch(text.strip()):
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a number")
    return float(text)


def _handler(module: str, name: str) -> Callable[[argparse.Namespace], int]:
    """A command's handler, imported only when the command runs."""

    def handle(args: argparse.Namespace) -> Any:
        import importlib

        return getattr(importlib.import_module(f"optbench.cli.{module}"), name)(args)

    return handle


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="optbench",
        description="Compare optimization algorithms on the same problems under the same budget.",
        epilog="Spec strings set parameters: 'quadratic[n=500,noise=0.2]', 'adam[learning_rate=[0.1,0.01]]' "
        "(a list is a grid: one configuration per value).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    lister = sub.add_parser("list", help="list problems, optimizers or suites")
    lister.add_argument("what", choices=["problems", "optimizers", "suites"])
    lister.add_argument("--all", action="store_true", help="name each problem of the BBOB and CUTEst sets")
    _plugins(lister)
    lister.set_defaults(handler=_handler("catalog", "list_command"))

    describe = sub.add_parser("describe", help="a problem's or optimizer's parameters, defaults and description")
    describe.add_argument("name", help="a problem or optimizer name (or spec)")
    _plugins(describe)
    describe.set_defaults(handler=_handler("catalog", "describe_command"))

    runner = sub.add_parser("run", help="run a suite, or problems x optimizers, and store the runs")
    runner.add_argument("suite", nargs="?", help="a suite name (see `optbench list suites`) or a .toml file")
    _specs(runner, "repeatable; lists make grids")
    runner.add_argument("--seeds", type=whole, help="number of seeds (default: the suite's, else 1)")
    _budget(runner)
    runner.add_argument("--no-progress", action="store_true", help="no progress bar: a line per finished group instead")
    runner.add_argument(
        "--retry-failed",
        action="store_true",
        help="run again the runs stored as failed (an out-of-memory, a flaky library), replacing them",
    )
    runner.add_argument(
        "--workers",
        type=whole,
        default=1,
        metavar="N",
        help="run the groups in N worker processes on this machine (default 1: in this process); "
        "one per core is the most that helps",
    )
    runner.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="run the groups on the Dask cluster whose scheduler is at ADDRESS (tcp://HOST:8786), or on a "
        "LocalCluster of --workers single-threaded processes started for this run (local)",
    )
    runner.add_argument(
        "--run-timeout",
        type=real,
        metavar="SECONDS",
        help="with --workers or --dask: stop a run that takes longer (compiling included) and store it as failed",
    )
    runner.add_argument(
        "--no-compile-cache",
        action="store_true",
        help="compile every program anew, without JAX's persistent cache (also: OPTBENCH_COMPILE_CACHE=0)",
    )
    _db(runner)
    _plugins(runner)
    runner.set_defaults(handler=_handler("running", "run_command"))

    tuner = sub.add_parser(
        "tune", help="tune every optimizer under the same number of trials, then compare them on fresh seeds"
    )
    tuner.add_argument("suite", nargs="?", help="a suite name or .toml file: its problems, optimizers and budget")
    _specs(tuner, "repeatable; one configuration per optimizer: its search space is tuned")
    tuner.add_argument(
        "--trials", type=whole, help="configurations per optimizer and study (default: the suite's, else 20)"
    )
    tuner.add_argument("--studies", type=whole, help="independent studies, the score their median (default 1)")
    tuner.add_argument("--seeds", type=whole, help="fresh seeds that score each selection (default 5)")
    tuner.add_argument(
        "--rule",
        choices=["loss", "algoperf"],
        default="loss",
        help="loss (default): select by final training loss (validation loss where the problem has a split, "
        "validation_fraction), score by final loss; algoperf: AlgoPerf's external tuning, 5 studies of 20 trials, "
        "by time to the target (--target, or the known optimum's)",
    )
    tuner.add_argument(
        "--space",
        action="append",
        default=[],
        metavar="OPT.PARAM=LOW:HIGH[:SCALE]",
        help="replace or narrow a search range (repeatable): adam.learning_rate=1e-4:0.1; SCALE log, log1m or "
        "linear (default: the declared range's)",
    )
    _budget(tuner)
    tuner.add_argument("--no-progress", action="store_true", help="no progress bar")
    tuner.add_argument("--workers", type=whole, default=1, metavar="N", help="run in N worker processes")
    tuner.add_argument(
        "--dask", metavar="ADDRESS", help="run the trials and finals on this Dask cluster (or local), as run does"
    )
    tuner.add_argument(
        "--run-timeout", type=real, metavar="SECONDS", help="with --workers or --dask: stop a run that hangs"
    )
    tuner.add_argument("--format", choices=["markdown", "csv", "latex"], default="markdown")
    _db(tuner)
    _plugins(tuner)
    tuner.set_defaults(handler=_handler("tuning", "tune_command"))

    cache = sub.add_parser("cache", help="where compiled programs are cached and how much they take; clear them")
    cache.add_argument("action", choices=["info", "clear"])
    cache.set_defaults(handler=_handler("catalog", "cache_command"))

    table = sub.add_parser("table", help="tables of the stored runs: summary, ERT, statistics, profiles")
    table.add_argument(
        "--view",
        choices=VIEWS,
        default="summary",
        help="summary (default): per problem and configuration; ert: expected running time to targets; "
        "stats: pairwise tests and average ranks; profile: performance-profile scores; "
        "fixed-budget: best loss at budgets; tuned: what optbench tune found (the tuned and default scores, "
        "the selected hyperparameters, the tuning cost)",
    )
    table.add_argument("--format", choices=["markdown", "csv", "latex"], default="markdown")
    table.add_argument("--output", "--out", metavar="FILE", help="write the table to FILE instead of printing it")
    table.add_argument("--nist", action="store_true", help="only the per-optimizer NIST StRD accuracy summary")
    _reads_runs(table, "table_command", cost=True, alpha=True)

    plot = sub.add_parser(
        "plot", help="plots of the stored runs: convergence, ECDF, profiles, fixed budget, fronts, fits, boundaries"
    )
    plot.add_argument(
        "--kind",
        choices=PLOT_KINDS,
        default="convergence",
        help="what to draw (default: convergence); metric: a recorded metric against cost (--metric); "
        "fit: fitted curves over the data; boundary: a 2-D classifier's decision boundaries; "
        "lr: final loss and test accuracy against a hyperparameter (--hue, default learning_rate); "
        "tuning: every trial of a tuning against each hyperparameter tuned",
    )
    plot.add_argument(
        "--x",
        "--cost",
        dest="x",
        choices=COSTS,
        help="cost axis (default: evals where optimizers with different costs per step share a plot, else steps)",
    )
    plot.add_argument(
        "--hue",
        metavar="PARAM",
        help="convergence: one line per value of this hyperparameter, on a colour scale (e.g. learning_rate); "
        "lr: the hyperparameter on the x axis (default learning_rate)",
    )
    plot.add_argument(
        "--metric",
        default="test_accuracy",
        help="--kind metric: the recorded metric to draw (default: test_accuracy; also test_loss, train_loss, ...)",
    )
    plot.add_argument(
        "--output",
        "--out",
        metavar="PATH",
        help="a .png/.pdf/.svg file (one figure), or a folder (default: results/plots)",
    )
    _reads_runs(plot, "plot_command", cost=False)

    report = sub.add_parser("report", help="one self-contained HTML report of the stored runs")
    report.add_argument("--output", "--out", metavar="FILE", default="results/report.html", help="the HTML file")
    _reads_runs(report, "report_command", cost=True, alpha=True)

    export = sub.add_parser(
        "export", help="export runs, traces and fronts as CSV, Parquet, IOHprofiler files or COCO data (bbob runs)"
    )
    export.add_argument("--format", choices=["csv", "parquet", "ioh", "coco"], required=True)
    export.add_argument("--output", "--out", metavar="DIR", default="results/export", help="the folder to write")
    _reads_runs(export, "export_command", analysis=False)
    return parser


def _budget(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--max-steps", type=whole, help="step budget per run")
    parser.add_argument("--max-evals", type=whole, help="function-evaluation budget per run")
    parser.add_argument(
        "--max-evals-per-dim",
        type=whole,
        metavar="K",
        help="evaluation budget of K x the number of parameters (COCO's)",
    )
    parser.add_argument("--max-time", type=real, metavar="SECONDS", help="wall-time budget per run")
    parser.add_argument("--max-epochs", type=real, help="budget in passes over the training data per run")
    parser.add_argument("--target", type=real, metavar="LOSS", help="stop a run once its loss is at or below LOSS")


def _specs(parser: argparse.ArgumentParser, how: str) -> None:
    parser.add_argument("-p", "--problem", action="append", default=[], metavar="SPEC", help=f"problem spec ({how})")
    parser.add_argument(
        "-o", "--optimizer", action="append", default=[], metavar="SPEC", help=f"optimizer spec ({how})"
    )


def _reads_runs(
    parser: argparse.ArgumentParser, handler: str, analysis: bool = True, cost: bool = False, alpha: bool = False
) -> None:
    """A command that reads stored runs: the database, the filters, what its views measure."""
    if analysis:
        _analysis(parser, cost=cost)
    if alpha:
        parser.add_argument("--alpha", type=real, default=0.05, help="significance level of the tests")
        parser.add_argument(
            "--tolerance",
            type=real,
            help="relative difference in final loss within which two configurations tie (default: the precision "
            "level, 1e-6, of |f_opt| or of the median loss)",
        )
    _db(parser)
    _filters(parser)
    parser.add_argument(
        "--tuned",
        action="store_true",
        help="only the fresh-seed runs of tunings: each optimizer tuned as one configuration ('adam tuned'), "
        "beside its defaults ('adam default')",
    )
    _plugins(parser, "; those the runs were made with load by themselves")
    parser.set_defaults(handler=_handler("views", handler))


def _filters(parser: argparse.ArgumentParser) -> None:
    _specs(parser, "only these; a name matches every configuration of it")
    parser.add_argument("--suite", action="append", default=[], help="only runs of this suite (repeatable)")
    parser.add_argument(
        "--by",
        action="append",
        default=[],
        metavar="COLUMN",
        help="also keep runs apart by this column: device, host, float64, versions, version (repeatable)",
    )


def _analysis(parser: argparse.ArgumentParser, cost: bool) -> None:
    if cost:
        parser.add_argument("--cost", choices=COSTS, default="evals", help="cost axis of fixed-target views")
    parser.add_argument(
        "--targets",
        choices=["auto", "precision", "tau"],
        default="auto",
        help="precision: f - f_opt <= 10^k (COCO); tau: More-Wild's test against the best loss found; "
        "auto (default): precision where the optimum is known",
    )
    parser.add_argument(
        "--level",
        type=real,
        help="the target of profiles and tests: a precision (default 1e-6) or a tau (default 1e-3)",
    )


def _db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", default=DEFAULT_DB, metavar="PATH", help=f"results database (default: {DEFAULT_DB})")


def _plugins(parser: argparse.ArgumentParser, more: str = "") -> None:
    parser.add_argument(
        "--plugins",
        action="append",
        default=[],
        metavar="DIR",
        help=f"load problem and optimizer files from DIR (repeatable){more}",
    )
