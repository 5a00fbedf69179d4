"""The outcome of one run, with the field names users know from ``scipy.optimize``."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import pandas as pd

TRACE_COLUMNS = ["step", "nfev", "njev", "epochs", "time_s", "loss", "best_loss"]


class Status(StrEnum):
    """How a run ended."""

    CONVERGED = "converged"
    TARGET_REACHED = "target_reached"
    MAX_STEPS = "max_steps"
    MAX_EVALS = "max_evals"
    MAX_TIME = "max_time"
    MAX_EPOCHS = "max_epochs"
    DIVERGED = "diverged"
    SKIPPED = "skipped"
    FAILED = "failed"

    @property
    def success(self) -> bool:
        return self in (Status.CONVERGED, Status.TARGET_REACHED)

    @property
    def budget_exhausted(self) -> bool:
        return self in (Status.MAX_STEPS, Status.MAX_EVALS, Status.MAX_TIME, Status.MAX_EPOCHS)


class Front(NamedTuple):
    """The non-dominated set a Pareto run ended with, sorted by the first objective:
    ``objectives`` (k, m) and the flat parameter vectors that produced them (k, n)."""

    objectives: Any
    params: Any


@dataclass
class Result:
    """One run: final point and loss, how it ended, what it cost, and its trace.

    ``success`` is true when the run converged or reached its target and, where the
    optimum is known, ended within the measured target of it: a solver that settles on a
    stationary point far from the optimum has not succeeded, nor has one whose ``x`` ended
    outside the problem's ``bounds`` (``in_bounds`` False). ``fun`` is the loss at ``x``,
    where the run ended (as in ``scipy.optimize``); ``best_fun`` the lowest loss the run
    saw, lower than ``fun`` where a method left its best point. ``time_s`` excludes
    compilation, which is in ``compile_s``. The trace has one row per
    recorded step (step, nfev, njev, time_s, loss, best_loss, and problem metrics).

    A Pareto run's ``fun`` is minus the hypervolume of its final front (``x`` is None),
    its ``front`` the final non-dominated set, and its ``metrics`` and trace hold the
    hypervolume, IGD and IGD+ (the last two where the true front is known).
    """

    x: Any
    fun: float
    status: Status
    message: str = ""
    nit: int = 0
    nfev: int = 0
    njev: int = 0
    time_s: float = 0.0
    compile_s: float = 0.0
    trace: pd.DataFrame = field(default_factory=lambda: _empty_trace())
    nfev_to_target: float = float("nan")
    time_to_target: float = float("nan")
    cache_hit: bool | None = None  # programs read from JAX's persistent cache; None: reused in memory, or none
    metrics: dict[str, float] = field(default_factory=dict)
    front: Front | None = None
    success: bool = None  # type: ignore[assignment]  # set from the status when not given
    in_bounds: bool | None = None  # whether x is in the problem's bounds; None: no bounds, or no x
    best_fun: float = float("nan")  # the lowest loss the run saw; set from the trace when not given
    lanes: int = 1  # the lane width of its programs: runs per execution (padding included)
    batch_time_s: float = float("nan")  # the wall time of that execution; set from time_s when not given
    threads: dict[str, int] | None = None  # the threads XLA and BLAS ran on (optbench.drive.threads); None: not run

    def __post_init__(self) -> None:
        if self.success is None:
            self.success = self.status.success
        if math.isnan(self.best_fun):
            self.best_fun = _lowest(self.fun, self.trace)
        if math.isnan(self.batch_time_s):  # a run alone is its own batch
            self.batch_time_s = self.time_s

    @classmethod
    def failed(cls, status: Status, message: str) -> Result:
        """A run that produced no point: skipped, or failed with an error."""
        return cls(x=None, fun=float("nan"), status=status, message=message)

    @classmethod
    def from_error(cls, err: Exception) -> Result:
        """A run whose optimizer raised: status failed, the error as the message."""
        return cls.failed(Status.FAILED, f"{type(err).__name__}: {err}".strip())

    def __repr__(self) -> str:
        return (
            f"Result(status={self.status.value!r}, fun={self.fun:.6g}, nit={self.nit}, nfev={self.nfev}, "
            f"njev={self.njev}, time_s={self.time_s:.3g}, compile_s={self.compile_s:.3g}, message={self.message!r})"
        )


def _lowest(fun: float, trace: pd.DataFrame) -> float:
    """The lowest of ``fun`` and the trace's best loss, NaN where neither is a number."""
    import numpy as np

    seen = [fun, *(trace["best_loss"].to_numpy(float) if "best_loss" in trace and len(trace) else [])]
    finite = [v for v in seen if v is not None and not np.isnan(v)]
    return float(min(finite)) if finite else float("nan")


def _empty_trace() -> pd.DataFrame:
    import pandas as pd  # imported on first use: listing optimizers must not pay for it

    return pd.DataFrame(columns=TRACE_COLUMNS)
