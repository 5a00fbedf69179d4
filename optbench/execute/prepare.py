"""Before any work: a comparison's runs planned and every executor check passed. Shared by
``optbench run`` and ``optbench.run``, so that both refuse the same input the same way,
before a results database is opened."""

from __future__ import annotations

from collections.abc import Iterable

from optbench.budget import Budget
from optbench.drive.run_spec import RunSpec
from optbench.execute import local_pool
from optbench.execute.plan import plan


def prepare(
    problems: Iterable[str],
    optimizers: Iterable[str],
    seeds: int | Iterable[int],
    budget: Budget,
    suite: str = "",
    *,
    workers: int = 1,
    run_timeout: float | None = None,
    cluster: str | None = None,
    cap_workers: bool = True,
) -> tuple[list[RunSpec], int]:
    """The runs, and the worker processes to run them in: the pool's options valid,
    ``workers`` capped at what helps on this machine where ``cap_workers`` (the command
    line's choice; not on a remote cluster), and where runs leave this process, each one
    importable there. ``cluster``: None (this machine), ``"local"`` (a Dask LocalCluster of
    ``workers`` processes) or ``"remote"``."""
    local_pool.check_options(workers, run_timeout, cluster is not None)
    runs = plan(list(problems), list(optimizers), seeds, budget, suite)
    if cap_workers and cluster != "remote":
        workers = local_pool.useful_workers(workers, runs)
    if workers > 1 or cluster is not None:
        local_pool.check_workers_can_run(runs)
    return runs, workers
