"""optimistix's solvers driven by optbench's own compiled loop: one of its ``step`` calls is
one step of the loop, so budgets, counts, traces, lanes and stopping are optbench's, and
the arithmetic is optimistix's.

optimistix writes each solver as ``init`` / ``step`` / ``terminate`` over a pure function
(Kidger, "optimistix", 2024). Its own loop runs ``step`` until ``terminate`` holds; here a
run's step reports that test of its starting point as converged, so a run stops where
optimistix's ``least_squares`` or ``minimise`` would, after as many steps.

Counting. A least-squares or quasi-Newton step evaluates the function once, at the point
it tries (``jax.linearize``: the value and the linearisation in one pass), and forms the
Jacobian or gradient from that linearisation only where the trial is accepted (a rejected
trust-region or line-search trial makes none): nfev += 1, njev += accepted. A Nelder-Mead
step evaluates its reflection and the vertex it then tries (2), and every vertex where it
shrinks (n + 1); its first step evaluates the starting simplex (n + 1).

optimistix is a dependency of optbench, imported on first use.
"""

from __future__ import annotations

import importlib.util
from typing import Any, NamedTuple

from optbench.errors import OptbenchError
from optbench.flat_problem import flatten, unravel_for, vector_function
from optbench.problem import Problem
from optbench.registry import register_optimizer
from optbench.solver import NativeSolver, StepInfo, same_types
from optbench.tuning.space import log_range

PACKAGE = "optimistix"
MISSING = f"needs {PACKAGE}, one of optbench's dependencies, which is not installed: pip install {PACKAGE}==0.1.0"
TOLERANCE = 1e-8  # rtol = atol: the measurement; every NIST case it was run on reached LRE >= 8


class _State(NamedTuple):
    params: Any  # the current point in the problem's own structure
    y: Any  # the current point, flat: the last accepted one (optimistix's ``y``)
    inner: Any  # the arrays of optimistix's own state (its functions and jaxprs are rebuilt: ``_inner``)
    done: Any  # optimistix's ``terminate`` at ``y``: its loop would stop here


class Optimistix(NativeSolver):
    """One optimistix solver (``make()`` builds it) on a problem's residuals (``kind``
    ``"residuals"``: its least-squares solvers) or its loss (``"value"``: minimisers)."""

    def __init__(self, make: Any, kind: str, simplex: bool = False):
        self.make, self.kind, self.simplex = make, kind, simplex

    def _parts(self, problem: Problem, data: Any) -> tuple[Any, Any]:
        function = vector_function(problem, data, self.kind)
        return self.make(), (lambda y, args: (function(y), None))

    def init(self, problem: Problem, data: Any, params: Any, key: Any) -> _State:
        import equinox
        import jax.numpy as jnp

        inner = self._init(problem, data, flatten(params))
        return _State(params, flatten(params), equinox.filter(inner, equinox.is_array), jnp.asarray(False))

    def _init(self, problem: Problem, data: Any, y: Any) -> Any:
        import jax

        solver, fn = self._parts(problem, data)
        out_struct = jax.eval_shape(lambda v: fn(v, None)[0], y)
        return solver.init(fn, y, None, {}, out_struct, None, frozenset())

    def _inner(self, problem: Problem, data: Any, state: _State) -> Any:
        """optimistix's state: the arrays the loop carries, with the rest (functions,
        jaxprs: not arrays, so not carried) from a fresh ``init``, as optimistix's own loop
        does; what else that ``init`` computes is unused, and compiled away."""
        import equinox

        static = equinox.filter(self._init(problem, data, state.y), equinox.is_array, inverse=True)
        return equinox.combine(state.inner, static)

    def step(self, problem: Problem, data: Any, state: _State) -> tuple[_State, StepInfo]:
        import equinox
        import jax
        import jax.numpy as jnp
        import optimistix

        solver, fn = self._parts(problem, data)
        before = self._inner(problem, data, state)

        def step(_: Any) -> tuple[Any, Any]:
            y, inner, _ = solver.step(fn, state.y, None, {}, before, frozenset())
            return y, equinox.filter(inner, equinox.is_array)

        # Where optimistix's loop would have stopped, no step is taken (and nothing
        # evaluated: in lanes both branches run, and the loop discards this one).
        y, arrays = jax.lax.cond(state.done, lambda _: (state.y, state.inner), step, None)
        inner = equinox.combine(arrays, equinox.filter(before, equinox.is_array, inverse=True))
        done, result = solver.terminate(fn, y, None, {}, inner, frozenset())
        done = done | (result != optimistix.RESULTS.successful)  # optimistix's loop stops on a failure too
        first = self._first(before)
        nfev, njev = self._counts(before, inner, state.y.shape[0])
        # The loss at the step's starting point: held by the state, except before the first
        # step, which evaluates the start (its first evaluation).
        loss = jnp.where(first, self._start_loss(inner), self._loss(before))
        stopped = state.done  # optimistix would not have taken this step: it makes nothing
        info = StepInfo(
            loss=loss,
            nfev=jnp.where(stopped, 0, nfev),
            njev=jnp.where(stopped, 0, njev),
            converged=stopped,
            known_nfev=jnp.where(first, 1, 0),
            known_njev=jnp.zeros((), jnp.int32),
        )
        return same_types(_State(unravel_for(problem)(y), y, arrays, done), state), info

    def _first(self, inner: Any) -> Any:
        return inner.first_pass if self.simplex else inner.first_step

    def _loss(self, inner: Any) -> Any:
        """The loss at optimistix's current point, as optbench's problem defines it."""
        import jax.numpy as jnp

        if self.simplex:
            return inner.best[0]
        if self.kind == "residuals":
            return jnp.mean(inner.f_info.residual**2)  # a curve fit's loss: the mean squared residual
        return inner.f_info.f

    def _start_loss(self, inner: Any) -> Any:
        """After the first step, the loss at the start: the simplex's first vertex is the start."""
        return inner.f_simplex[0] if self.simplex else self._loss(inner)

    def _counts(self, before: Any, after: Any, n: int) -> tuple[Any, Any]:
        import jax.numpy as jnp

        if self.simplex:
            shrinks = after.stats.n_shrink - before.stats.n_shrink
            return jnp.where(before.first_pass, n + 1, 2 + shrinks * (n + 1)).astype(jnp.int32), jnp.int32(0)
        accepted = getattr(after, "num_accepted_steps", None)
        njev = jnp.int32(1) if accepted is None else (accepted - before.num_accepted_steps).astype(jnp.int32)
        return jnp.int32(1), njev

    def init_evals(self, problem: Problem) -> int:
        return 0  # optimistix's init evaluates nothing: its first step does

    def max_step_evals(self, problem: Problem) -> int:
        return problem.n_params + 1 if self.simplex else 1

    def params(self, state: _State) -> Any:
        return state.params

    def known_loss(self, state: _State) -> Any:
        return self._loss(state.inner) if self.simplex else None


def _optimistix() -> Any:
    if importlib.util.find_spec(PACKAGE) is None:
        raise OptbenchError(f"the optimistix solvers {MISSING}")
    import optimistix

    return optimistix


def _solver(name: str, kind: str, simplex: bool = False, **settings: Any) -> Optimistix:
    optx = _optimistix()
    return Optimistix(lambda: getattr(optx, name)(**settings), kind, simplex)


@register_optimizer("optx_lm", requires=("residuals",), family="optimistix")
def optx_lm(rtol: float = TOLERANCE, atol: float = TOLERANCE) -> Optimistix:
    """optimistix's LevenbergMarquardt (trust region, QR solves), in optbench's loop."""
    return _solver("LevenbergMarquardt", "residuals", rtol=rtol, atol=atol)


@register_optimizer("optx_dogleg", requires=("residuals",), family="optimistix")
def optx_dogleg(rtol: float = TOLERANCE, atol: float = TOLERANCE) -> Optimistix:
    """optimistix's Dogleg (Powell's trust-region dogleg on the residuals), in optbench's loop."""
    return _solver("Dogleg", "residuals", rtol=rtol, atol=atol)


@register_optimizer("optx_gauss_newton", requires=("residuals",), family="optimistix")
def optx_gauss_newton(rtol: float = TOLERANCE, atol: float = TOLERANCE) -> Optimistix:
    """optimistix's GaussNewton (full Gauss-Newton steps), in optbench's loop."""
    return _solver("GaussNewton", "residuals", rtol=rtol, atol=atol)


@register_optimizer("optx_bfgs", family="optimistix", max_params=1000)
def optx_bfgs(rtol: float = TOLERANCE, atol: float = TOLERANCE) -> Optimistix:
    """optimistix's BFGS (backtracking Armijo line search), in optbench's loop."""
    return _solver("BFGS", "value", rtol=rtol, atol=atol)


@register_optimizer("optx_lbfgs", family="optimistix", float64_only=True)
def optx_lbfgs(rtol: float = TOLERANCE, atol: float = TOLERANCE, history_length: int = 10) -> Optimistix:
    """optimistix's LBFGS (``history_length`` pairs, backtracking Armijo), in optbench's loop.

    Float64 problems only: optimistix 0.1.0 mixes float64 into a float32 problem's state
    under JAX's x64 mode (which optbench turns on) and fails to trace it, in its own loop
    too; float32 problems skip it with this reason.
    """
    return _solver("LBFGS", "value", rtol=rtol, atol=atol, history_length=history_length)


@register_optimizer("optx_nelder_mead", requires=("value",), family="optimistix", max_params=1000, float64_only=True)
def optx_nelder_mead(rtol: float = TOLERANCE, atol: float = TOLERANCE) -> Optimistix:
    """optimistix's NelderMead (derivative free), in optbench's loop.

    Float64 problems only: optimistix 0.1.0 mixes float64 into a float32 problem's state
    under JAX's x64 mode (which optbench turns on) and fails to trace it, in its own loop
    too; float32 problems skip it with this reason.
    """
    return _solver("NelderMead", "value", simplex=True, rtol=rtol, atol=atol)


@register_optimizer("optx_gradient_descent", family="optimistix", space={"learning_rate": log_range(1e-4, 10.0)})
def optx_gradient_descent(learning_rate: float = 1e-2, rtol: float = TOLERANCE, atol: float = TOLERANCE) -> Optimistix:
    """optimistix's GradientDescent (a fixed ``learning_rate``), in optbench's loop."""
    return _solver("GradientDescent", "value", learning_rate=learning_rate, rtol=rtol, atol=atol)
