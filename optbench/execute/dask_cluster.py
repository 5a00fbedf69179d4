"""Groups of runs on a Dask distributed cluster: one task per group, the parent the only
writer of the database, storing each group's runs as its task finishes.

A task runs its group's runs one after another in the worker (as the local pool does), so
a run gives the same numbers on a cluster as in-process. Groups that use the same compiled
programs (NIST's two starts of a problem with one configuration) are one task, so they
compile once. Workers need optbench installed and the suite's plugin folders at the same
paths; JAX's settings (float64, the compilation cache) come from the environment each
worker was started with: optbench sets them in its own, and a ``LocalCluster`` it starts
inherits them. A worker that dies has its task moved to another (Dask's own retries); a
group whose task killed workers every time (Dask's ``KilledWorker``) is stored as failed
with that reason. With ``--run-timeout``, each worker runs its runs in a child process
that it can stop. ``optbench run --dask local`` starts and stops a ``LocalCluster`` of
single-threaded worker processes.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator
from typing import Any

from optbench.errors import OptbenchError, shown
from optbench.execute.local_pool import jobs, run_job, run_job_watched, worker_environment
from optbench.result import Result, Status

# What --dask takes: ``local``, or a scheduler's TCP address (``tcp://`` may be left out).
# TLS needs certificates, which only a ``distributed.Client`` made in Python can carry.
_ADDRESS = re.compile(r"(tcp://)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})")


def check_address(address: str) -> None:
    """A malformed ``--dask`` address is an error before any work (Dask took 4-6 s to fail
    on some with a traceback, and ran ``""`` in-process)."""
    if address == "local":
        return
    found = _ADDRESS.fullmatch(address)
    if found is None or not 0 < int(found.group(3)) < 65536:
        why = " (TLS: make a distributed.Client in Python and pass it as optbench.run(..., client=))" * (
            address.startswith("tls://")
        )
        raise OptbenchError(
            f"--dask {shown(address)} is not a scheduler address: give tcp://HOST:PORT (such as "
            f"tcp://127.0.0.1:8786), or local for a cluster on this machine{why}"
        )


def connect(address: str, workers: int) -> contextlib.AbstractContextManager[Any]:
    """A client of the scheduler at ``address``, or of a ``LocalCluster`` of ``workers``
    single-threaded processes started (and stopped) here when ``address`` is ``local``;
    ``check_address`` has read ``address`` before any work."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise OptbenchError('--dask needs Dask distributed: pip install "optbench[dask]"') from None
    if address == "local":
        return _local(LocalCluster, Client, workers)
    try:
        client = Client(address, timeout=10)
    except (OSError, ValueError, TypeError) as err:
        raise OptbenchError(f"cannot reach the Dask scheduler at {address}: {err}") from None
    return contextlib.closing(client)


@contextlib.contextmanager
def _local(cluster_type: Any, client_type: Any, workers: int) -> Iterator[Any]:
    env = worker_environment()
    with (
        cluster_type(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None, env=env
        ) as cluster,
        client_type(cluster) as client,
    ):
        yield client


def run_groups(
    groups: list[list[Any]], client: Any, plugins: Iterable[str] = (), run_timeout: float | None = None
) -> Iterator[tuple[Any, Any]]:
    """Yield ``(run, result)`` for every run of ``groups`` as their tasks finish. With
    ``run_timeout``, each Dask worker runs its tasks' runs in a child process of its own,
    which it kills (and replaces) when a run takes longer: a Dask task itself cannot be
    stopped from outside."""
    from distributed import as_completed

    plugins = [str(p) for p in plugins]
    tasks: dict[Any, list[Any]] = {}  # groups that use the same compiled programs are one task
    for job in jobs(groups):
        tasks.setdefault(job.affinity, []).append(job)
    futures = {client.submit(_run_jobs, task, plugins, run_timeout, pure=False): task for task in tasks.values()}
    try:
        for future in as_completed(futures):
            members = [run for job in futures[future] for run in groups[job.key]]
            try:
                results = [result for job_results in future.result() for result in job_results]
            except Exception as err:  # every way a task can end is a result
                if type(err).__name__ == "KilledWorker":
                    why = f"the Dask workers running this group died each time it was tried ({err})"
                    results = [Result.failed(Status.FAILED, why)] * len(members)
                else:
                    results = [Result.from_error(err)] * len(members)
            yield from zip(members, results)
    finally:
        client.cancel(list(futures))


def _run_jobs(jobs: list[Any], plugins: list[str], run_timeout: float | None) -> list[list[Any]]:
    """In a Dask worker: the results of each job's runs."""
    if run_timeout is not None:
        return [run_job_watched(job, plugins, run_timeout) for job in jobs]
    return [list(run_job(job, plugins)) for job in jobs]
