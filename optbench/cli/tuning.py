"""``optbench tune``: a tuned comparison, every optimizer under the same number of trials,
its table printed and every run stored."""

from __future__ import annotations

import argparse
import sys
import textwrap
import time


def tune_command(args: argparse.Namespace) -> int:
    from optbench.analysis.formatting import format_table
    from optbench.budget import LIMITS, budget_of
    from optbench.errors import OptbenchError
    from optbench.execute import execute
    from optbench.execute.plan import pending
    from optbench.execute.prepare import prepare
    from optbench.progress import Progress
    from optbench.registry import REGISTRY
    from optbench.store import ResultStore
    from optbench.suite import find_suite, load_suite
    from optbench.tuning.study import plan_trials, tune_in

    REGISTRY.load_plugins(args.plugins)
    suite = load_suite(find_suite(args.suite, args.plugins)) if args.suite else None
    problems = args.problem or (suite.problems if suite else [])
    optimizers = args.optimizer or (suite.optimizers if suite else [])
    if not problems or not optimizers:
        raise OptbenchError("give a suite name, or at least one -p PROBLEM and one -o OPTIMIZER")
    budget = budget_of(suite.budget if suite else None, **{name: getattr(args, name) for name in LIMITS})
    _, workers = prepare(problems, optimizers, 1, budget, workers=args.workers, run_timeout=args.run_timeout)
    planned = plan_trials(problems, optimizers, args.trials, args.studies, args.seeds, budget)
    started = time.perf_counter()
    with ResultStore(args.db) as store:

        def run(runs: list) -> None:
            work = pending(runs, store, False)
            print(f"{len(runs)} runs planned, {len(runs) - len(work.todo)} already stored", file=sys.stderr)
            progress = Progress(len(work.todo), show=not args.no_progress)
            try:
                execute(runs, store, progress.update, workers=workers, plugins=args.plugins,
                        run_timeout=args.run_timeout, work=work)  # fmt: skip
            finally:
                progress.close()

        tuned = tune_in(store, planned, problems, optimizers, seeds=args.seeds, budget=budget, run=run)
    print(format_table(tuned.table, args.format), end="")
    if args.format == "markdown":
        print(textwrap.fill(
            f"tuned_fun: the median over {args.studies} studies of the selection's median final loss on {args.seeds} "
            "fresh seeds (min and max over studies beside it); default_fun: the defaults on the same seeds; each "
            f"study selects, of {args.trials} trials, the lowest final training loss; tuning_evals and tuning_time_s: "
            "every trial's.",
            120,
        ))  # fmt: skip
    print(f"time: {time.perf_counter() - started:.1f} s; stored in {args.db}", file=sys.stderr)
    return 0
