"""Native solvers: pure ``init`` / ``step`` functions over an explicit state pytree.

The shared loop in ``optbench.loop`` drives every native solver, records its trace on the
device and applies the budget, so a solver only says how to take one step.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, NamedTuple

from optbench.problem import Problem


class StepInfo(NamedTuple):
    """What one step reports about the point it started from.

    ``loss`` is the full-data loss at the step's starting point; ``nfev`` and ``njev`` are
    the objective and gradient evaluations the step made; ``converged`` says the starting
    point already meets the solver's own stopping test (the loop then keeps it).
    """

    loss: Any
    nfev: Any
    njev: Any
    converged: Any


class NativeSolver(ABC):
    """A solver written as pure JAX functions; its float hyperparameters may be traced."""

    @abstractmethod
    def init(self, problem: Problem, data: Any, params: Any, key: Any) -> Any:
        """The state at the starting point ``params``."""

    @abstractmethod
    def step(self, problem: Problem, data: Any, state: Any) -> tuple[Any, StepInfo]:
        """One iteration: the next state, and what was learned about the current point."""

    @abstractmethod
    def params(self, state: Any) -> Any:
        """The current point of a state."""
