"""``optbench tune``: a tuned comparison, every optimizer under the same number of trials,
its table printed and every run stored."""

from __future__ import annotations

import argparse
import sys
import textwrap
import time


def tune_command(args: argparse.Namespace) -> int:
    from optbench.analysis.formatting import format_table
    from optbench.cli.running import comparison, dask_client
    from optbench.execute import execute
    from optbench.execute.plan import pending
    from optbench.execute.prepare import prepare
    from optbench.progress import Progress
    from optbench.store import ResultStore
    from optbench.tuning.study import RULES, plan_trials, tune_in

    suite, problems, optimizers, budget = comparison(args)
    if args.dask is not None:
        from optbench.execute.dask_cluster import check_address

        check_address(args.dask)
    cluster = None if args.dask is None else "local" if args.dask == "local" else "remote"
    _, workers = prepare(
        problems, optimizers, 1, budget, workers=args.workers, run_timeout=args.run_timeout, cluster=cluster
    )
    settings = suite.tuning if suite else {}
    trials, studies, seeds = (
        given if given is not None else settings.get(key, default)
        for key, given, default in (
            ("trials", args.trials, RULES[args.rule].trials),
            ("studies", args.studies, RULES[args.rule].studies),
            ("seeds", args.seeds, 5),
        )
    )
    overrides = {**settings.get("space", {})}
    for text in args.space:
        optimizer, name, bounds = _space_option(text)
        overrides.setdefault(optimizer, {})[name] = bounds
    planned = plan_trials(problems, optimizers, trials, studies, seeds, budget, overrides=overrides, rule=args.rule)
    started = time.perf_counter()
    with dask_client(args) as client, ResultStore(args.db) as store:

        def run(runs: list) -> None:
            work = pending(runs, store, False)
            print(f"{len(runs)} runs planned, {len(runs) - len(work.todo)} already stored", file=sys.stderr)
            progress = Progress(len(work.todo), show=not args.no_progress)
            try:
                execute(runs, store, progress.update, workers=workers, plugins=args.plugins,
                        run_timeout=args.run_timeout, work=work, client=client)  # fmt: skip
            finally:
                progress.close()

        tuned = tune_in(store, planned, problems, optimizers, seeds=seeds, budget=budget, run=run)
    print(format_table(tuned.table, args.format), end="")
    if args.format == "markdown":
        measure = RULES[args.rule].measure
        what = "final loss" if measure == "fun" else "time to the target"
        held_out = " (on the validation split where a problem has one)" if measure == "fun" else ""
        print(textwrap.fill(
            f"tuned_{measure}: the median over {studies} studies of the selection's median {what} on {seeds} "
            f"fresh seeds (min and max over studies beside it); default_{measure}: the defaults on the same seeds; "
            f"each study selects, of {trials} trials, {RULES[args.rule].about}{held_out}; tuning_evals and "
            "tuning_time_s: every trial's.",
            120,
        ))  # fmt: skip
    print(f"time: {time.perf_counter() - started:.1f} s; stored in {args.db}", file=sys.stderr)
    return 0


def _space_option(text: str) -> tuple[str, str, tuple[float, float, str | None]]:
    """``--space adam.learning_rate=1e-4:0.1[:log]`` as (optimizer, parameter, (low, high, scale))."""
    from optbench.errors import OptbenchError

    where, _, bounds = text.partition("=")
    optimizer, _, name = where.partition(".")
    parts = bounds.split(":")
    try:
        if not (optimizer and name and len(parts) in (2, 3)):
            raise ValueError
        low, high = float(parts[0]), float(parts[1])
    except ValueError:
        raise OptbenchError(
            f"--space takes OPTIMIZER.PARAM=LOW:HIGH[:SCALE], such as adam.learning_rate=1e-4:0.1; got {text!r}"
        ) from None
    return optimizer, name, (low, high, parts[2] if len(parts) == 3 else None)
