"""Many runs: the groups of a plan run in this process, a local pool or a Dask cluster, each
result stored as it arrives, by this process alone."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from optbench.drive.run_one import batches, run_group
from optbench.drive.run_spec import RunSpec
from optbench.execute import local_pool, precompile
from optbench.execute.plan import Pending, pending
from optbench.registry import REGISTRY
from optbench.result import Result


def execute(
    runs: list[RunSpec],
    store: Any,
    on_done: Callable[[int], None] = lambda n: None,
    retry_failed: bool = False,
    compile_threads: int | None = None,
    workers: int = 1,
    plugins: Iterable[str] = (),
    run_timeout: float | None = None,
    on_group: Callable[[RunSpec, list[Result]], None] = lambda run, results: None,
    client: Any = None,
    work: Pending | None = None,
) -> list[RunSpec]:
    """Run what the store does not hold yet, grouped per compiled program; store each run
    in its own transaction as soon as it finishes. With ``retry_failed``, runs stored as
    failed run again, each replaced by its new result in one transaction.

    With one worker, runs execute in this process, and the programs of the groups are
    compiled a window at a time on ``compile_threads`` threads (default: one per core;
    see ``optbench.execute.precompile``). With more, the groups run in a local pool of
    worker processes that load ``plugins`` (see ``optbench.execute.local_pool``), and
    ``run_timeout`` seconds stop a run that hangs. With a Dask ``client``, each group is a
    task on its cluster (see ``optbench.execute.dask_cluster``). Either way this process alone writes
    to the store. ``on_done(1)`` follows every stored run, ``on_group(run, results)`` the
    last of a group's runs. Returns the runs it ran. The executor's options are checked
    before, with the plan (``optbench.execute.prepare``). ``work``: what the store lacks, where
    the caller has read it already (``pending(runs, store, retry_failed)``)."""
    todo, replaced = pending(runs, store, retry_failed) if work is None else work
    grouped: dict[tuple[Any, ...], list[RunSpec]] = {}
    for run in todo:
        grouped.setdefault(run.group, []).append(run)
    groups = list(grouped.values())

    if client is not None:
        from optbench.execute import dask_cluster

        finished = dask_cluster.run_groups(groups, client, plugins, run_timeout)
    elif workers > 1:
        finished = local_pool.run_groups(groups, workers, plugins, run_timeout)
    else:
        finished = _in_process(groups, compile_threads)
    group_of = {run.run_id: key for key, members in enumerate(groups) for run in members}
    ended: dict[int, list[Result]] = {}
    with _interrupts() as interrupted, contextlib.closing(finished):  # closing: workers stop on any error
        for run, result in finished:
            if interrupted.is_set():  # the result of an interrupted run is not stored
                raise KeyboardInterrupt
            store.add(run, result, replace=run.run_id in replaced)
            on_done(1)
            key = group_of[run.run_id]
            ended.setdefault(key, []).append(result)
            if len(ended[key]) == len(groups[key]):
                on_group(run, ended.pop(key))
    return todo


def _in_process(groups: list[list[RunSpec]], compile_threads: int | None) -> Iterator[tuple[RunSpec, Result]]:
    """Each run of the groups and its result, run in this process one after another."""
    threads = precompile.default_threads() if compile_threads is None else compile_threads
    for members in precompile.windows(groups, _compile_group, threads):
        problem = REGISTRY.problem(members[0].problem)
        for batch in batches(problem, members):
            yield from zip(batch, run_group(problem, batch))


def _compile_group(members: list[RunSpec]) -> Callable[[], None]:
    """What compiles the programs a group's runs will use; its problem is built here, on
    the calling thread (the registry is not shared between threads)."""
    run = members[0]
    problem = REGISTRY.problem(run.problem)
    return lambda: precompile.compile_group(problem, run.optimizer, run.budget.for_problem(problem.n_params))


@contextlib.contextmanager
def _interrupts() -> Iterator[threading.Event]:
    """Note every Ctrl-C (SIGINT) while a suite runs, and raise KeyboardInterrupt as usual.

    The KeyboardInterrupt can be lost on the way (raised inside a finalizer, or turned
    into another exception inside a library, which would store a run as failed); the
    event lets ``execute`` stop at the next batch anyway, storing nothing of that batch.
    """
    interrupted = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield interrupted
        return

    def note(signum: int, frame: Any) -> None:
        interrupted.set()
        raise KeyboardInterrupt

    def quiet(unraisable: Any) -> None:
        # Raised inside a finalizer (JAX's garbage-collection callback), the interrupt is
        # printed with a traceback and dropped; the event stops the suite instead.
        if not isinstance(unraisable.exc_value, KeyboardInterrupt):
            previous_hook(unraisable)

    previous, previous_hook = signal.signal(signal.SIGINT, note), sys.unraisablehook
    sys.unraisablehook = quiet
    try:
        yield interrupted
    finally:
        signal.signal(signal.SIGINT, previous)
        sys.unraisablehook = previous_hook
