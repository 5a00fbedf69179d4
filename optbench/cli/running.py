"""``optbench run``: plan a suite, run what is not stored yet, store each run, summarize."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd


def comparison(args: argparse.Namespace) -> tuple[Any, list[str], list[str], Any]:
    """What ``run`` and ``tune`` compare: the suite (or None), problems, optimizers and the
    budget, from the suite and the command line (whose budget options replace the suite's
    budget as a whole), the plugins loaded first."""
    from optbench.budget import LIMITS, budget_of
    from optbench.errors import OptbenchError
    from optbench.registry import REGISTRY
    from optbench.suite import find_suite, load_suite

    REGISTRY.load_plugins(args.plugins)
    suite = load_suite(find_suite(args.suite, args.plugins)) if args.suite else None
    problems = args.problem or (suite.problems if suite else [])
    optimizers = args.optimizer or (suite.optimizers if suite else [])
    if not problems or not optimizers:
        raise OptbenchError("give a suite name, or at least one -p PROBLEM and one -o OPTIMIZER")
    budget = budget_of(suite.budget if suite else None, **{name: getattr(args, name) for name in LIMITS})
    return suite, problems, optimizers, budget


def run_command(args: argparse.Namespace) -> int:
    from optbench.execute import execute
    from optbench.execute.plan import pending
    from optbench.execute.prepare import prepare
    from optbench.progress import Progress
    from optbench.registry import plugin_digest
    from optbench.store import ResultStore

    if args.no_compile_cache:
        from optbench.caches.compile_cache import disable

        disable()  # before anything compiles: problems are built below
    suite, problems, optimizers, budget = comparison(args)
    seeds = args.seeds if args.seeds is not None else (suite.seeds if suite else 1)
    if args.dask is not None:
        from optbench.execute.dask_cluster import check_address

        check_address(args.dask)
    cluster = None if args.dask is None else "local" if args.dask == "local" else "remote"
    runs, args.workers = prepare(problems, optimizers, seeds, budget, suite.name if suite else "",
                                 workers=args.workers, run_timeout=args.run_timeout, cluster=cluster)  # fmt: skip
    # Opened after every check passed (a Dask scheduler reached), so bad input leaves it untouched.
    with dask_client(args) as client, ResultStore(args.db) as store:
        if args.plugins:  # so that readers find them again without --plugins
            store.remember_plugins({str(Path(d).resolve()): plugin_digest(d) for d in args.plugins})
        work = pending(runs, store, args.retry_failed)
        again = f" ({len(work.replaced & {r.run_id for r in work.todo})} failed before)" if args.retry_failed else ""
        stored = len(runs) - len(work.todo)
        print(f"{len(runs)} runs planned, {stored} already stored, {len(work.todo)} to run{again}", file=sys.stderr)
        progress = Progress(len(work.todo), show=not args.no_progress)
        started = time.perf_counter()
        on_group = lambda run, results: progress.group_done(
            run.problem, run.optimizer.label, [r.status.value for r in results]
        )
        try:
            execute(
                runs, store, progress.update, args.retry_failed,
                workers=args.workers, plugins=args.plugins, run_timeout=args.run_timeout,
                on_group=on_group, client=client, work=work,
            )  # fmt: skip
        finally:
            progress.close()
        wall = time.perf_counter() - started
        finished = store.runs([r.run_id for r in runs])  # the table needs no trace
    from optbench.analysis.terminal import summary_text

    print(summary_text(finished), end="")
    print(not_run_summary(finished), end="", file=sys.stderr)
    ran = finished[finished["run_id"].isin({r.run_id for r in work.todo})]
    if len(ran):
        print(time_summary(ran, wall, args.workers), file=sys.stderr)
        print(callback_notes(ran), end="", file=sys.stderr)
    print(f"stored in {args.db}", file=sys.stderr)
    return 0


def dask_client(args: argparse.Namespace) -> Any:
    """The Dask client ``--dask`` asks for (a LocalCluster of ``--workers`` processes, or
    one per core, for ``local``), else nothing."""
    import contextlib

    if not args.dask:
        return contextlib.nullcontext()
    from optbench.execute import dask_cluster
    from optbench.execute.local_pool import default_workers

    return dask_cluster.connect(args.dask, args.workers if args.workers > 1 else default_workers())


def time_summary(ran: pd.DataFrame, wall: float, workers: int = 1) -> str:
    """Where the time of the runs just made went: compiling (summed over the threads or
    worker processes that compile at once, so it may exceed the wall time; and how many
    programs came from the persistent cache) and running (summed over the workers)."""
    from optbench.execute.precompile import default_threads

    compiled = int((ran["compile_s"] > 0).sum())
    from_cache = int(ran["cache_hit"].fillna(False).sum())
    threads = default_threads()
    on = f" in {workers} worker processes" if workers > 1 else f" on {threads} threads" if threads > 1 else ""
    return (
        f"time: {wall:.1f} s for {len(ran)} run{'s' * (len(ran) != 1)}: {ran['compile_s'].sum():.1f} s compiling "
        f"{compiled} program{'s' * (compiled != 1)}{on} ({from_cache} read from the compilation cache), "
        f"{ran['time_s'].sum():.1f} s running"
    )


def callback_notes(ran: pd.DataFrame, least_s: float = 1.0) -> str:
    """A note per configuration and black box whose runs spent most of their time (at least
    ``least_s`` a run, median) outside the Python function: in the host callbacks of a
    compiled loop, or in the library, and what to do about it."""
    if "black_box_s" not in ran:
        return ""
    lines = []
    done = ran[ran["black_box_s"].notna() & (ran["nfev"] > 0)]
    for (problem, config), group in done.groupby(["problem", "optimizer"]):
        outside = (group["time_s"] - group["black_box_s"]).median()
        if outside < least_s or outside < group["time_s"].median() / 2:
            continue
        per_eval = outside / group["nfev"].median()
        lines.append(
            f"note: {config} on {problem} spent {outside:.1f} s a run outside the function ({per_eval * 1e6:.0f} µs "
            f"an evaluation) against {group['black_box_s'].median():.2f} s in it: a native method calls a black "
            "box through a host callback per point (per population with black_box_problem(..., vectorized=True)); "
            "a library method (scipy_nelder_mead, deap_ga) calls it directly, and a JAX function needs neither"
        )
    return "".join(line + "\n" for line in lines)


def not_run_summary(runs: pd.DataFrame) -> str:
    """The skipped and failed runs, one line per distinct reason with its count: a reason
    that names its problem is one line for all the problems it holds for, which it lists."""
    import re

    from optbench.registry import natural_key

    lines = []
    for status in ("skipped", "failed"):
        mine = runs[runs["status"] == status]
        if mine.empty:
            continue
        lines.append(f"{len(mine)} run{'s' * (len(mine) != 1)} {status}:")
        general = [
            re.sub(rf"(?<![\w\[]){re.escape(name)}(?![\w\[])", "<problem>", message)
            for name, message in zip(mine["problem_name"], mine["message"])
        ]
        groups = mine.assign(reason=general).groupby("reason", sort=False)
        for reason, group in sorted(groups, key=lambda item: -len(item[1])):
            names = sorted(set(group["problem_name"]), key=natural_key)
            if len(names) == 1:
                lines.append(f"  {len(group):>4} x {group['message'].iloc[0]}")
                continue
            shown = ", ".join(names[:6]) + (", ..." if len(names) > 6 else "")
            lines.append(f"  {len(group):>4} x {reason} ({len(names)} problems: {shown})")
    return "\n".join(lines) + "\n" if lines else ""
