"""The threads a run's numerical libraries use, and the record of them stored with each run.

XLA runs the native solvers on as many threads as the process allows (one in a pool
worker: ``optbench.execute.local_pool.ONE_THREAD``). Library solvers (scipy, DEAP, pymoo)
call BLAS through numpy and scipy; OpenBLAS's default of one thread per core, beside
XLA's threads and a pool's other workers, made a fit's time a measure of the machine's
load: ``scipy_lbfgsb`` took 0.4-1.05 s a fit against 2-38 ms on one BLAS thread. So a
library run holds BLAS to ``BLAS_THREADS`` (threadpoolctl's limit, for the libraries
loaded in the process), whichever executor runs it.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
from collections.abc import Iterator
from typing import Any

BLAS_THREADS = 1


@contextlib.contextmanager
def blas_limited() -> Iterator[None]:
    """BLAS on ``BLAS_THREADS`` threads for the duration (a library run)."""
    with _controller().limit(limits=BLAS_THREADS, user_api="blas"):
        yield


@functools.cache
def thread_settings() -> dict[str, int]:
    """The threads a run used: XLA's (from ``XLA_FLAGS``: one where Eigen's threading is
    off, else ``intra_op_parallelism_threads``, else every core the process may use) and
    BLAS's in library runs."""
    flags = os.environ.get("XLA_FLAGS", "")
    if "--xla_cpu_multi_thread_eigen=false" in flags:
        xla = 1
    elif match := re.search(r"intra_op_parallelism_threads=(\d+)", flags):
        xla = int(match.group(1))
    else:
        xla = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return {"xla": xla, "blas": BLAS_THREADS}


@functools.cache
def _controller() -> Any:
    """threadpoolctl's view of the BLAS libraries loaded, made once per process (making it
    takes about 1 ms, entering its limit 12 us), after scipy's own OpenBLAS is loaded."""
    import scipy.linalg  # noqa: F401  (scipy ships a BLAS of its own, beside numpy's)
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()
