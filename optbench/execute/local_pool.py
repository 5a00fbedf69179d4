"""A local pool of worker processes: the groups of a suite run in workers, one run after
another, and the parent stores every result as it arrives (it is the database's only
writer, so resuming keeps its guarantees).

Workers are fresh interpreters (never forked from a process that has imported JAX, and
never re-running the caller's script); each keeps XLA to one thread (no oversubscription:
one worker per core) and, on a GPU, does not preallocate its memory; each reads the same
persistent compilation cache, and loads the suite's plugins. A run's numbers do not depend
on where it ran: each run executes alone, as in-process (checked bit for bit by the tests).

Why not ``concurrent.futures.ProcessPoolExecutor``: when a worker dies, it breaks the whole
pool and cannot say which task killed it, and it cannot stop one task that hangs. Here the
parent knows which run each worker is on: a worker that dies (SIGKILL, out of memory, a
crash inside a library) fails that run with the reason, a run past ``run_timeout`` seconds
has its worker killed and fails with the timeout, and the rest of the group goes on in a
new worker. Ctrl-C stops the workers and stores nothing half-way.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, NamedTuple

from optbench.budget import Budget
from optbench.drive.run_one import batches, run_group
from optbench.drive.run_spec import RunSpec
from optbench.errors import OptbenchError
from optbench.execute.precompile import default_threads
from optbench.optimizer_config import OptimizerConfig
from optbench.registry import REGISTRY
from optbench.result import Result, Status

# XLA on one thread per worker: a pool of one worker per core must not oversubscribe it.
ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def worker_environment() -> dict[str, str]:
    """What a worker's environment adds to this one: XLA on one thread, and on a GPU no
    preallocation (JAX would take 75% of its memory in every worker), unless set already."""
    return {
        "XLA_FLAGS": f"{os.environ.get('XLA_FLAGS', '')} {ONE_THREAD}".strip(),
        "XLA_PYTHON_CLIENT_PREALLOCATE": os.environ.get("XLA_PYTHON_CLIENT_PREALLOCATE", "false"),
    }


_POLL_S = 0.5  # how often the parent looks at the clock when a run timeout is set
_READY = "ready"


class Batch(NamedTuple):
    """What a worker says before it computes a batch: how many of its job's runs, from the
    next one on, execute together (lanes of one execution). If the worker dies, they are
    lost together: each fails with the reason, and the job's later runs go on elsewhere."""

    size: int


@dataclass(frozen=True)
class Job:
    """What a worker needs to run some runs of one group; plain values, so it pickles
    without the registry's factories."""

    key: int  # the group's position in the suite
    first: int  # the position, in the group, of the first run here
    problem: str
    optimizer: str
    budget: dict[str, Any]
    # Each run's seed and hyperparameters: a group's runs share a compiled program, not
    # their values (a learning-rate grid is one group).
    runs: tuple[tuple[int, dict[str, Any]], ...]
    suite: str
    # Jobs with the same affinity use the same compiled programs (NIST's two starts of one
    # problem, with one configuration): one worker runs them, so it compiles them once.
    affinity: Any = None


def default_workers() -> int:
    return default_threads()


def check_options(workers: int, run_timeout: float | None, dask: bool = False) -> None:
    """Bad pool settings are an error before any work."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise OptbenchError(f"workers must be a whole number of at least 1, got {workers!r}")
    if run_timeout is not None and not (isinstance(run_timeout, (int, float)) and 0 < run_timeout < float("inf")):
        raise OptbenchError(f"the run timeout must be a positive number of seconds, got {run_timeout!r}")
    if run_timeout is not None and workers == 1 and not dask:
        raise OptbenchError("a run timeout stops a run by stopping its worker process: use 2 or more workers")


def useful_workers(workers: int, runs: list[Any]) -> int:
    """``workers`` capped at what can help on this machine: one per core, and one per
    group of runs (a group runs in one worker), saying so where it caps (12 workers on 2
    cores peaked at 4.9 GB of memory, and ran no faster)."""
    cores = os.cpu_count() or 1
    groups = len({run.group for run in runs})
    useful = max(1, min(workers, cores, groups))
    if useful < workers:
        why = f"this machine's {cores} cores" if useful == cores else f"the {groups} groups of runs that can run apart"
        print(f"optbench: {workers} workers would not help: using {useful} ({why})", file=sys.stderr)
    return useful


def check_workers_can_run(runs: Iterable[Any]) -> None:
    """Workers import problems and optimizers from plugin files; one defined in this
    session (a notebook cell, ``__main__``) does not exist there. Say so before any work."""
    for run in runs:
        from optbench.registry import REGISTRY

        problem = REGISTRY.get("problem", run.problem.split("[", 1)[0])
        for entry in (problem, run.optimizer.entry):
            if getattr(entry.factory, "__module__", "") == "__main__":
                raise OptbenchError(
                    f"{entry.kind} {entry.name!r} is defined in this session, where worker processes cannot import "
                    "it; put it in a plugin file (--plugins DIR), or run with one worker"
                )


def run_groups(
    groups: list[list[Any]], workers: int, plugins: Iterable[str] = (), run_timeout: float | None = None
) -> Iterator[tuple[Any, Any]]:
    """Yield ``(run, result)`` for every run of ``groups`` (lists of ``RunSpec`` sharing a
    problem, configuration and budget), as they finish in ``workers`` processes."""
    queue = deque(jobs(groups))
    pool = _Pool(max(1, min(workers, len(queue))), [str(p) for p in plugins])
    try:
        for job, index, result in _drive(pool, queue, run_timeout):
            yield groups[job.key][job.first + index], result
    finally:
        pool.stop()


def run_job_watched(job: Job, plugins: list[str], run_timeout: float) -> list[Any]:
    """The results of a job's runs, computed in a worker process of this thread's own,
    kept between calls: a run past ``run_timeout`` seconds has that process killed (and
    a new one started) and fails with the timeout. For executors whose tasks cannot be
    stopped from outside, such as a Dask worker's."""
    key = (threading.get_ident(), tuple(plugins))
    pool = _WATCHERS.get(key)
    if pool is None:
        pool = _WATCHERS[key] = _Pool(1, list(plugins))
    return [result for _, _, result in _drive(pool, deque([job]), run_timeout)]


_WATCHERS: dict[tuple[int, tuple[str, ...]], _Pool] = {}


def _drive(pool: _Pool, queue: deque, run_timeout: float | None) -> Iterator[tuple[Job, int, Any]]:
    """Run the ``queue`` of jobs in ``pool``, yielding ``(job, index in the job, result)``
    for every run as it finishes."""
    while queue or pool.busy():
        pool.assign(queue)
        for worker, message in pool.messages(run_timeout):
            job, done = worker.job, worker.done
            if isinstance(message, Batch):
                worker.batch_end = done + message.size
                continue
            if message is None:  # the worker is gone: its current batch fails run by run, the rest go on elsewhere
                lost = max(worker.batch_end, done + 1)
                for index in range(done, lost):
                    yield job, index, Result.failed(Status.FAILED, worker.why_gone)
                if lost < len(job.runs):
                    queue.appendleft(replace(job, first=job.first + lost, runs=job.runs[lost:]))
                if queue:
                    pool.replace(worker)
                else:  # no work for a new worker yet: it starts when given a job (see ``assign``)
                    worker.job = None
                continue
            yield job, done, message
            worker.done += 1
            if worker.done == len(job.runs):
                worker.job = None


def jobs(groups: list[list[Any]]) -> list[Job]:
    """One job per group, the groups of population methods first."""
    order = sorted(range(len(groups)), key=lambda key: -_population(groups[key][0].optimizer))
    return [_job(key, 0, groups[key]) for key in order]


def _population(config: Any) -> int:
    """Evaluations per step, as far as the configuration says (its ``pop_size``, else 1):
    groups of population methods go first, so the pool does not end waiting on one long
    group (on the default suite, the last group was a ``ga`` group that ran alone for 2.4
    of the pool's 12.2 s)."""
    size = config.params.get("pop_size", 1)
    return size if isinstance(size, int) else 1


def _job(key: int, first: int, members: list[Any]) -> Job:
    run = members[0]
    try:
        computation = REGISTRY.problem(run.problem).program_key or run.problem  # built while planning
    except Exception:  # a problem that cannot be built fails in its worker, as in-process
        computation = run.problem
    static = tuple(sorted((k, repr(v)) for k, v in run.optimizer.params.items() if not isinstance(v, float)))
    return Job(
        key, first, run.problem, run.optimizer.name, run.budget.as_dict(),
        tuple((m.seed, dict(m.optimizer.params)) for m in members), run.suite,
        (repr(computation), run.optimizer.name, static),
    )  # fmt: skip


# A worker's first line: the parent's import path, exactly. ``python -m`` would put the
# working folder first, so a folder named ``optbench/`` or ``numpy/`` there stopped the
# workers and a ``jax.py`` there ran in them; ``-P`` adds nothing to the path.
_BOOT = (
    "import json, sys; sys.path[:] = json.loads(sys.argv[2]); "
    "from optbench.execute.local_pool import serve; serve(int(sys.argv[1]), sys.argv[3:])"
)


class _Worker:
    """A worker process: a fresh interpreter that imports what this process imports, from
    the same folders, and nothing of the caller's script (``spawn`` would re-run an
    unguarded script's top level in every worker), talking over a socket pair."""

    def __init__(self, plugins: list[str]):
        mine, theirs = socket.socketpair()
        env = {**os.environ, **worker_environment()}
        paths = json.dumps([str(Path(p).resolve()) if p else os.getcwd() for p in sys.path])
        command = [sys.executable, "-P", "-c", _BOOT, str(theirs.fileno()), paths, *plugins]
        self.process = subprocess.Popen(command, pass_fds=(theirs.fileno(),), env=env, stdin=subprocess.DEVNULL)
        theirs.close()
        self.conn = Connection(mine.detach())
        self.ready = False  # it says so once it has imported optbench and the plugins
        self.affinity: Any = None  # the programs of the last job it ran
        self.job: Job | None = None
        self.done = 0  # runs of the job already answered
        self.batch_end = 0  # where the batch it computes ends (``Batch``), in the job's runs
        self.since = time.monotonic()  # when its current run started
        self.why_gone = ""

    def give(self, job: Job) -> None:
        self.job, self.done, self.batch_end, self.since = job, 0, 0, time.monotonic()
        self.conn.send(job)

    def stop(self, why: str = "") -> None:
        self.why_gone = why or self.why_gone
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.conn.close()


class _Pool:
    def __init__(self, size: int, plugins: list[str]):
        self.plugins = plugins
        self.workers = [_Worker(plugins) for _ in range(size)]

    def busy(self) -> bool:
        return any(w.job is not None for w in self.workers)

    def assign(self, queue: deque) -> None:
        """Give each idle worker a job: the next one that uses the programs it last ran,
        else the next one whose programs no busy worker is using, else the next."""
        for worker in self.workers:
            if not (worker.ready and worker.job is None and queue):
                continue
            taken = {w.job.affinity for w in self.workers if w.job is not None}
            choice = next((j for j in queue if j.affinity == worker.affinity), None)
            choice = choice or next((j for j in queue if j.affinity not in taken), queue[0])
            queue.remove(choice)
            try:
                worker.give(choice)
            except OSError:  # it died while idle: the job waits for its replacement
                queue.appendleft(choice)
                self.replace(worker)
                continue
            worker.affinity = choice.affinity

    def messages(self, run_timeout: float | None) -> Iterator[tuple[_Worker, Any]]:
        """The next answers of busy workers: a result, or None for a worker that died or
        ran out of time (killed here). A run's clock starts once its worker is ready."""
        waiting = [w for w in self.workers if w.job is not None or not w.ready]
        ready = wait([w.conn for w in waiting], timeout=_POLL_S if run_timeout else None)
        now = time.monotonic()
        for worker in waiting:
            if worker.conn in ready:
                try:
                    message = worker.conn.recv()
                except (EOFError, OSError):  # the socket closed: the process is gone
                    worker.stop(_death(worker.process.wait()))
                    if worker.job is None:
                        raise OptbenchError(f"a worker process could not start: {worker.why_gone}") from None
                    yield worker, None
                    continue
                worker.since = now
                if message == _READY:
                    worker.ready = True
                    continue
                yield worker, message
            elif worker.job is not None and run_timeout is not None and now - worker.since > run_timeout:
                worker.stop(f"run timeout: stopped after {run_timeout:g} s (--run-timeout)")
                yield worker, None

    def replace(self, worker: _Worker) -> None:
        worker.stop()
        self.workers[self.workers.index(worker)] = _Worker(self.plugins)

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()


def _death(exitcode: int | None) -> str:
    """Why a worker process ended, in words."""
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name if -exitcode in signal.valid_signals() else str(-exitcode)
        hint = " (out of memory, or killed)" if name == "SIGKILL" else ""
        return f"the worker process running this run died: {name}{hint}"
    return f"the worker process running this run exited (code {exitcode})"


def run_job(job: Job, plugins: Iterable[str] = (), announce: Any = None) -> Iterator[Any]:
    """The results of a job's runs, one by one, computed in this process (a worker's);
    ``announce(Batch(n))``, where given, before each batch of runs that execute together."""
    REGISTRY.load_plugins(plugins)  # once per process: loaded files are remembered
    try:
        problem = REGISTRY.problem(job.problem)
        entry = REGISTRY.get("optimizer", job.optimizer)
        budget = Budget(**job.budget)
    except Exception as err:  # as in-process: a problem that cannot be built fails its runs
        for _ in job.runs:
            yield Result.from_error(err)
        return
    runs = [
        RunSpec(problem.spec, OptimizerConfig(entry, params), seed, budget, job.suite, f_opt=problem.f_opt,
                dtype=problem.dtype)
        for seed, params in job.runs
    ]  # fmt: skip
    for batch in batches(problem, runs):
        if announce is not None:
            announce(Batch(len(batch)))
        yield from run_group(problem, batch)


def serve(fd: int, plugins: list[str]) -> None:
    """A worker: run the jobs it is sent over the socket ``fd``, answering each run's
    result as it finishes; it exits within a second of its parent's death."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it stops the workers
    _exit_with_parent()

    conn = Connection(fd)
    REGISTRY.load_plugins(plugins)
    try:
        conn.send(_READY)
        while True:
            job: Job = conn.recv()
            for result in run_job(job, announce=conn.send):
                try:
                    conn.send(result)
                except (OSError, EOFError):
                    raise
                except Exception as err:  # a result that does not pickle (a plugin's exotic parameters)
                    conn.send(Result.from_error(err))
    except (OSError, EOFError):  # the parent is gone (or stopped wanting answers): so is this worker
        return


def _exit_with_parent(every_s: float = 0.5) -> None:
    """End this process as soon as its parent is gone (a SIGKILL gives the parent no chance
    to stop it): without this, a worker computed on until its run ended, hours for a long one."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every_s)
        os._exit(0)

    threading.Thread(target=watch, name="optbench-parent-watch", daemon=True).start()
