"""Native solvers: pure ``init`` / ``step`` functions over an explicit state pytree.

The shared loop in ``optbench.drive.loop`` drives every native solver, records its trace on the
device and applies the budget, so a solver only says how to take one step.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, NamedTuple

from optbench.problem import Problem
from optbench.result import Status


class StepInfo(NamedTuple):
    """What one step reports about the point it started from.

    ``loss`` is the full-data loss at the step's starting point (for a solver whose
    ``full_loss_each_step`` is False, the loss of the minibatch it drew); ``nfev`` and ``njev`` are
    the objective and gradient evaluations the step made; ``converged`` says the starting
    point already meets the solver's own stopping test (the loop then keeps it).
    ``known_nfev`` and ``known_njev`` are how many of those had been made when ``loss`` was
    known, the counts its trace row gets (the start is evaluation 1, not the end of a first
    simplex): None, all of them (a step that evaluates its own starting point); a solver
    whose state holds the loss already says 0, or the evaluations ``init`` made.
    """

    loss: Any
    nfev: Any
    njev: Any
    converged: Any
    known_nfev: Any = None
    known_njev: Any = None


def same_types(new: Any, old: Any) -> Any:
    """``new`` with the dtypes of ``old``, leaf by leaf: a library's step may compute in
    float64 (JAX's x64 mode is on) what its state holds in a float32 problem's dtype, and
    the loop's branches and carries need one type per leaf. For adapters of such libraries."""
    import jax
    import jax.numpy as jnp

    return jax.tree_util.tree_map(lambda a, b: jnp.asarray(a, jnp.asarray(b).dtype), new, old)


class HostSolver(ABC):
    """A solver from a library that owns its loop; optbench drives it through a ``Bridge``.

    ``needs`` names the bridge functions it calls (``value``, ``value_and_grad``,
    ``residuals``, ``jacobian``), compiled before the run's clock starts.
    """

    needs: tuple[str, ...] = ("value",)

    @abstractmethod
    def solve(self, bridge: Any, x0: Any) -> tuple[Any, Status, str]:
        """Run the library from ``x0``; return its answer, how it ended, and its message."""


class NativeSolver(ABC):
    """A solver written as pure JAX functions; its float hyperparameters may be traced.

    ``full_loss_each_step`` is False for a minibatch method: its steps report minibatch
    losses, and the harness measures the full training loss on the metrics' schedule.
    """

    full_loss_each_step: bool = True
    lanes: bool = True  # False: its runs cannot keep their own numbers as lanes of a vmap, so each runs alone
    searches_box: bool = False  # a population method: it searches a box (optbench.flat_problem.search_box)

    @abstractmethod
    def init(self, problem: Problem, data: Any, params: Any, key: Any) -> Any:
        """The state at the starting point ``params``."""

    @abstractmethod
    def step(self, problem: Problem, data: Any, state: Any) -> tuple[Any, StepInfo]:
        """One iteration: the next state, and what was learned about the current point."""

    def step_within(self, problem: Problem, data: Any, state: Any, evals_left: Any) -> tuple[Any, StepInfo]:
        """``step``, making at most ``evals_left`` objective evaluations (a traced int, at
        least ``max_step_evals``; for the first step, those ``init`` made count too). The
        default ignores it: the loop starts a step only where the budget leaves
        ``max_step_evals``. A solver that can stop short inside a step overrides this (a
        line search taking its best trial so far) and leaves ``max_step_evals`` at 1."""
        return self.step(problem, data, state)

    def init_evals(self, problem: Problem) -> int:
        """The objective evaluations ``init`` makes; they are counted with the first step."""
        return 0

    def max_step_evals(self, problem: Problem) -> int:
        """The most objective evaluations one step can make. The loop never starts a step
        that could pass the evaluation or epoch budget, and skips a run whose budget does
        not cover ``init_evals`` and a first step, so a run never spends more than its
        budget. A population method says 1 and does not count its first population in
        ``init_evals``: its generation is one step, finished where it crosses the budget
        (as the README says), rather than a budget left unspent by up to a generation."""
        return 1

    def epochs_per_evaluation(self, problem: Problem) -> float:
        """The data one objective evaluation processes, in passes over the training data:
        one for full-batch methods; a minibatch method says its fraction. Epochs in the
        trace are nfev times this (kept off the device: it is a constant per run)."""
        return 1.0

    @abstractmethod
    def params(self, state: Any) -> Any:
        """The current point of a state (None for a Pareto method, whose answer is a front)."""

    def measured_loss(self, problem: Problem, data: Any, state: Any) -> Any:
        """The loss a state stands for, measured by the harness (not counted): at the start
        as the scale for divergence, at the end as the run's ``fun``."""
        return problem.value(self.params(state), data)

    def known_loss(self, state: Any) -> Any:
        """The loss at ``params(state)`` where the state already holds it (a simplex's best
        vertex, a population's best member), else None. For a black-box problem, where
        every evaluation is a real call, the harness takes it instead of measuring."""
        return None

    def indicators(self, problem: Problem, state: Any) -> dict[str, Any]:
        """Scalars describing a state without evaluating the problem, recorded in the trace
        at every step and at the end (a Pareto method's hypervolume and IGD)."""
        return {}

    def front(self, state: Any) -> tuple[Any, Any, Any] | None:
        """A Pareto method's population: objectives (P, m), flat parameters (P, n), and
        which members are non-dominated; None for single-objective methods."""
        return None


class PopulationSolver(HostSolver):
    """A library's evolutionary algorithm, driven through a population bridge
    (``optbench.drive.population_bridge.PopulationBridge``) that scores its populations."""

    searches_box = True

    pop_size: int = 100

    def solve(self, bridge: Any, x0: Any) -> tuple[Any, Status, str]:  # pragma: no cover - not used
        raise NotImplementedError("population solvers run through run_population")

    @abstractmethod
    def evolve(self, bridge: Any) -> tuple[Status, str]:
        """Run the library until it stops or the bridge raises ``Stop``."""
