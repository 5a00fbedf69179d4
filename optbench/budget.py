"""Budgets: how long a run may go on, and when it may stop early."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any

from optbench.errors import OptbenchError
from optbench.result import Status

DEFAULT_MAX_STEPS = 1000
MAX_COUNT = 2**31 - 1  # steps and evaluations are counted in int32 on the device
# The limits of a plan, checked before any run.
MAX_TIME_S = 86_400.0  # a day per run: a run is not checkpointed part-way, so longer ones belong in pieces
MAX_SEED = 2**32 - 1  # seeds become uint32 PRNG keys
MAX_RUNS = 100_000  # larger plans are split into suites: at 0.1 s a run, this one takes 3 hours
# The budget's stop tests in one order of precedence: the first that holds is why a run
# stops. The library bridges ask ``Budget.stop_reason``; the compiled loop tests its bounds
# in this order too (``optbench.drive.programs``), after its own outcomes (diverged, converged).
STOP_ORDER = (Status.TARGET_REACHED, Status.MAX_STEPS, Status.MAX_EVALS, Status.MAX_EPOCHS, Status.MAX_TIME)


@dataclass(frozen=True)
class Budget:
    """Bounds on steps, evaluations, wall time and passes over the data, and an optional
    target loss.

    A run stops at whichever bound it meets first. With no bound given, ``max_steps``
    defaults to 1000. ``target`` stops a run as soon as its loss is at or below it.
    ``max_epochs`` bounds the examples processed, in passes over the training data: a
    full-batch evaluation is one pass, a minibatch of 32 from 426 examples 32/426 of one.
    ``max_evals_per_dim`` bounds evaluations in proportion to the problem's number of
    parameters n (COCO's convention: 1000 x n); a run gets ``for_problem(n)``'s budget,
    and runs on problems of different sizes share one budget, so they pool in views.
    """

    max_steps: int | None = None
    max_evals: int | None = None
    max_time: float | None = None
    target: float | None = None
    max_epochs: float | None = None
    max_evals_per_dim: int | None = None

    def __post_init__(self) -> None:
        for name in ("max_steps", "max_evals", "max_evals_per_dim"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_COUNT
            ):
                raise OptbenchError(f"budget {name} must be a whole number from 1 to {MAX_COUNT:,}, got {value!r}")
        if self.max_time is not None and not (_is_finite(self.max_time) and 0 < self.max_time <= MAX_TIME_S):
            raise OptbenchError(
                f"budget max_time must be a positive number of seconds up to {MAX_TIME_S:,.0f} (a day), "
                f"got {self.max_time!r}"
            )
        if self.target is not None and not _is_finite(self.target):
            raise OptbenchError(f"budget target must be a finite number, got {self.target!r}")
        if self.max_epochs is not None and not (_is_finite(self.max_epochs) and self.max_epochs > 0):
            raise OptbenchError(f"budget max_epochs must be a positive, finite number, got {self.max_epochs!r}")
        if all(getattr(self, name) is None for name in _BOUNDS):
            object.__setattr__(self, "max_steps", DEFAULT_MAX_STEPS)

    def stop_reason(
        self,
        *,
        loss: float | None = None,
        steps: int | None = None,
        evals: int | None = None,
        next_cost: int = 0,
        elapsed: float | None = None,
    ) -> Status | None:
        """Why a run must stop now, or None: the first bound that holds, in ``STOP_ORDER``.
        Only what is given is tested: ``loss`` against the target, the ``steps`` taken, the
        ``evals`` made (which with ``next_cost``, what the next call would add, must not pass
        ``max_evals``; passes over the data count whole evaluations), the seconds ``elapsed``."""
        held = {
            Status.TARGET_REACHED: loss is not None and self.target is not None and loss <= self.target,
            Status.MAX_STEPS: steps is not None and self.max_steps is not None and steps >= self.max_steps,
            Status.MAX_EVALS: evals is not None and self.max_evals is not None and evals + next_cost > self.max_evals,
            Status.MAX_EPOCHS: evals is not None and self.max_epochs is not None and evals >= self.max_epochs,
            Status.MAX_TIME: elapsed is not None and self.max_time is not None and elapsed >= self.max_time,
        }
        return next((status for status in STOP_ORDER if held[status]), None)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Budget:
        """A budget from a mapping such as a suite file's ``[budget]`` table."""
        unknown = set(values) - set(_FIELDS)
        if unknown:
            raise OptbenchError(f"unknown budget setting(s): {', '.join(sorted(unknown))}")
        return cls(**{k: v for k, v in values.items() if v is not None})

    def for_problem(self, n_params: int | None) -> Budget:
        """The budget a run on a problem of ``n_params`` parameters gets: ``max_evals_per_dim``
        made a number of evaluations (the smaller, where ``max_evals`` is set as well)."""
        if self.max_evals_per_dim is None:
            return self
        if not n_params:
            raise OptbenchError("a budget of evaluations per dimension needs the problem's number of parameters")
        evals = min(MAX_COUNT, self.max_evals_per_dim * n_params, self.max_evals or MAX_COUNT)
        return replace(self, max_evals=evals, max_evals_per_dim=None)

    def as_dict(self) -> dict[str, Any]:
        """The bounds that are set (plain fields: no ``dataclasses.asdict`` deep copy, which
        was two thirds of planning a million runs)."""
        return {k: v for k in _FIELDS if (v := getattr(self, k)) is not None}


def _is_finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


_FIELDS = tuple(f.name for f in fields(Budget))
_BOUNDS = ("max_steps", "max_evals", "max_time", "max_epochs", "max_evals_per_dim")


LIMITS = _FIELDS  # the keywords a budget is given by (the command line's --max-steps, ...)


def budget_of(default: Budget | None = None, **limits: Any) -> Budget:
    """The budget of the limits given (None: not given), which replace ``default`` (a
    suite's budget) as a whole; with none given, ``default``, else ``Budget()``."""
    given = {name: value for name, value in limits.items() if value is not None}
    return Budget(**given) if given or default is None else default
