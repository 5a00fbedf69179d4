"""Derivative-free direct search: the Nelder-Mead simplex, in JAX on the shared loop."""

from __future__ import annotations

from typing import Any, NamedTuple

from optbench.flat_problem import flatten, unravel_for, vector_function
from optbench.problem import Problem
from optbench.registry import register_optimizer
from optbench.solver import NativeSolver, StepInfo


class _State(NamedTuple):
    params: Any  # the best vertex in the problem's own pytree
    simplex: Any  # (n + 1, n) vertices, best first
    values: Any  # (n + 1,) loss at each vertex
    converged: Any
    pending_nfev: Any  # the n + 1 evaluations of the first simplex, counted with step 0
    start_value: Any  # the loss at the start, evaluation 1: step 0 reports it, as the trace's first row


class NelderMead(NativeSolver):
    """The downhill simplex with reflection, expansion, contraction and shrink steps.

    Standard coefficients (1, 2, 1/2, 1/2) and scipy's first simplex (each coordinate
    moved by 5%, or 0.00025 where it is zero). It stops when every vertex is within
    ``xatol`` (relative) of the best and every value within ``fatol`` (relative).
    Reference: Nelder & Mead, "A simplex method for function minimization" (1965);
    Lagarias et al., "Convergence properties of the Nelder-Mead simplex method" (1998).
    """

    def __init__(self, xatol: Any = 1e-10, fatol: Any = 1e-14):
        self.xatol, self.fatol = xatol, fatol

    def init(self, problem: Problem, data: Any, params: Any, key: Any) -> _State:
        import jax
        import jax.numpy as jnp

        value, unravel = vector_function(problem, data, "value"), unravel_for(problem)
        x0 = flatten(params)
        n = x0.shape[0]
        moved = jnp.where(x0 != 0, 1.05 * x0, 0.00025)
        simplex = jnp.concatenate([x0[None], jnp.where(jnp.eye(n, dtype=bool), moved[None], x0[None])])
        values = jax.vmap(value)(simplex)  # evaluated in order, the start first
        made = jnp.asarray(n + 1, jnp.int32)
        return _sorted(_State(params, simplex, values, jnp.asarray(False), made, values[0]), unravel)

    def step(self, problem: Problem, data: Any, state: _State) -> tuple[_State, StepInfo]:
        import jax
        import jax.numpy as jnp

        value, unravel = vector_function(problem, data, "value"), unravel_for(problem)
        simplex, values = state.simplex, state.values
        n = simplex.shape[1]
        best, worst = simplex[0], simplex[-1]
        # Tested first: a converged simplex evaluates nothing more (for a black box every
        # evaluation is a real call, and an uncounted one would make nfev lie).
        spread_x = jnp.max(jnp.abs(simplex[1:] - best)) <= self.xatol * (1 + jnp.max(jnp.abs(best)))
        spread_f = jnp.max(jnp.abs(values[1:] - values[0])) <= self.fatol * (1 + jnp.abs(values[0]))
        converged = spread_x & spread_f

        def move(_):
            centroid = jnp.mean(simplex[:-1], axis=0)
            reflected = centroid + (centroid - worst)
            f_reflected = value(reflected)

            def expand(_):
                expanded = centroid + 2.0 * (reflected - centroid)
                f_expanded = value(expanded)
                better = f_expanded < f_reflected
                return jnp.where(better, expanded, reflected), jnp.where(better, f_expanded, f_reflected), 1, False

            def accept(_):
                return reflected, f_reflected, 0, False

            def contract(_):
                outside = f_reflected < values[-1]
                inside = centroid + 0.5 * (worst - centroid)
                point = jnp.where(outside, centroid + 0.5 * (reflected - centroid), inside)
                f_point = value(point)
                return point, f_point, 1, f_point >= jnp.minimum(f_reflected, values[-1])

            case = jnp.where(f_reflected < values[0], 0, jnp.where(f_reflected < values[-2], 1, 2))
            point, f_point, extra, shrink = jax.lax.switch(case, [expand, accept, contract], None)

            def shrunk(_):
                vertices = best + 0.5 * (simplex - best)
                return vertices, jnp.concatenate([values[:1], jax.vmap(value)(vertices[1:])])

            def replaced(_):
                return simplex.at[-1].set(point), values.at[-1].set(f_point)

            new_simplex, new_values = jax.lax.cond(shrink, shrunk, replaced, None)
            made = 1 + extra + jnp.where(shrink, n, 0)
            return new_simplex, new_values, jnp.asarray(made, jnp.int32)

        def stay(_):
            return simplex, values, jnp.zeros((), jnp.int32)

        new_simplex, new_values, made = jax.lax.cond(converged, stay, move, None)
        new_state = _State(state.params, new_simplex, new_values, converged, 0 * state.pending_nfev, state.start_value)
        # Step 0 (the first simplex's evaluations pending) reports the start, at evaluation 1;
        # a later step its best vertex, known before it.
        first = state.pending_nfev > 0
        loss = jnp.where(first, state.start_value, values[0])
        info = StepInfo(loss, state.pending_nfev + made, 0, converged, first.astype(jnp.int32), 0)
        return _sorted(new_state, unravel), info

    def init_evals(self, problem: Problem) -> int:
        return problem.n_params + 1  # the first simplex

    def max_step_evals(self, problem: Problem) -> int:
        return problem.n_params + 2  # a reflection, an expansion or contraction, a shrink of n vertices

    def known_loss(self, state: _State) -> Any:
        return state.values[0]  # the best vertex is ``params``

    def params(self, state: _State) -> Any:
        return state.params


def _sorted(state: _State, unravel: Any) -> _State:
    import jax.numpy as jnp

    order = jnp.argsort(state.values)
    simplex = state.simplex[order]
    return state._replace(params=unravel(simplex[0]), simplex=simplex, values=state.values[order])


@register_optimizer("nelder_mead", requires=("value",), max_params=1000)
def nelder_mead(xatol: float = 1e-10, fatol: float = 1e-14) -> NelderMead:
    """The Nelder-Mead downhill simplex, derivative-free (Nelder & Mead 1965)."""
    return NelderMead(xatol=xatol, fatol=fatol)
