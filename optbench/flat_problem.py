"""A problem as functions of one flat parameter vector, for the methods that work on one.

Least squares, quasi-Newton, simplex and population methods, and the libraries that own
their loop (scipy, DEAP, pymoo), see parameters as a flat vector in ``ravel_pytree``
order; this module is the one place that maps the problem's pytrees to it and back: the
seed's starting point, the box, the loss, gradient, residuals and Jacobian of one vector,
and the losses or objective vectors of a population of them.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from optbench.problem import Problem

_UNRAVELS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_DECLARED_BOXES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_STARTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def unravel_for(problem: Problem) -> Any:
    """The map from a flat parameter vector back to the problem's own pytree. Made once
    per problem: solvers ask for it in every function they trace."""
    unravel = _UNRAVELS.get(problem)
    if unravel is None:
        import jax
        from jax.flatten_util import ravel_pytree

        with jax.ensure_compile_time_eval():  # concrete, even when first asked inside a trace
            shapes = jax.eval_shape(problem.init_params, jax.random.PRNGKey(0))
            unravel = ravel_pytree(jax.tree_util.tree_map(lambda s: np.zeros(s.shape, s.dtype), shapes))[1]
        _UNRAVELS[problem] = unravel
    return unravel


def flatten(params: Any) -> Any:
    """A parameter pytree as one flat vector (a JAX array, in the parameters' dtype)."""
    from jax.flatten_util import ravel_pytree

    return ravel_pytree(params)[0]


def flat_start(problem: Problem, seed: int) -> Any:
    """The flat starting point of ``seed``: drawn with the first of the seed's two keys, as
    the compiled loop draws it, so every driver starts a seed at the same point."""
    import jax

    return flatten(problem.init_params(jax.random.split(jax.random.PRNGKey(seed))[0]))


def search_box(problem: Problem, start: Any) -> tuple[Any, Any]:
    """The (lower, upper) box as flat vectors: the problem's bounds or else its search box
    (each leaf broadcast to its parameter's shape), else the default box around the flat
    starting point ``start``: ``start -+ (1 + |start|)`` in every coordinate."""
    import jax
    import jax.numpy as jnp

    flat = jnp.asarray(start)
    box = problem.bounds if problem.bounds is not None else problem.search_box
    if box is None:
        half = 1.0 + jnp.abs(flat)
        return flat - half, flat + half
    shapes = jax.eval_shape(problem.init_params, jax.random.PRNGKey(0))

    def ravel(bound: Any) -> Any:
        leaves = jax.tree_util.tree_map(lambda b, s: jnp.broadcast_to(jnp.asarray(b, s.dtype), s.shape), bound, shapes)
        return flatten(leaves).astype(flat.dtype)

    return ravel(box[0]), ravel(box[1])


def declared_box(problem: Problem) -> tuple[np.ndarray, np.ndarray] | None:
    """The problem's bounds, else its search box, as flat float64 vectors (``search_box``'s,
    made once per problem); None where it declares neither. For judging a run's answer,
    which happens after every run: computing the box each time took 2-4 ms."""
    if problem.bounds is None and problem.search_box is None:
        return None
    box = _DECLARED_BOXES.get(problem)
    if box is None:
        lower, upper = search_box(problem, np.zeros(problem.n_params))
        box = _DECLARED_BOXES[problem] = (np.asarray(lower, np.float64), np.asarray(upper, np.float64))
    return box


def start_of(problem: Problem, seed: int) -> np.ndarray:
    """``flat_start`` as float64, from a program compiled once per problem: for judging a
    run's answer against the box around its start, not for starting a run (drawn eagerly,
    ``flat_start`` took 2 ms a run; a compiled draw may round its last bit differently)."""
    draw = _STARTS.get(problem)
    if draw is None:
        import jax

        draw = _STARTS[problem] = jax.jit(
            lambda seed: flatten(problem.init_params(jax.random.split(jax.random.PRNGKey(seed))[0]))
        )
    return np.asarray(draw(np.uint32(seed)), np.float64)


def vector_function(problem: Problem, data: Any, kind: str) -> Any:
    """One of the problem's functions of a flat vector on ``data``: ``value`` (the loss),
    ``value_and_grad``, ``residuals`` or ``jacobian`` (forward mode: residual problems have
    few parameters)."""
    import jax

    unravel = unravel_for(problem)

    def value(v):
        return problem.value(unravel(v), data)

    def residuals(v):
        return problem.residuals(unravel(v), data)

    functions = {
        "value": value,
        "value_and_grad": jax.value_and_grad(value),
        "residuals": residuals,
        "jacobian": jax.jacfwd(residuals),
    }
    return functions[kind]


def loss_values(problem: Problem, data: Any = None) -> Any:
    """``population (P, n) -> losses (P,)`` on flat vectors; NaN becomes +inf."""
    import jax
    import jax.numpy as jnp

    unravel = unravel_for(problem)

    def one(x: Any) -> Any:
        value = jnp.asarray(problem.value(unravel(x), data), x.dtype)
        return jnp.where(jnp.isnan(value), jnp.inf, value)

    return jax.vmap(one)


def objective_vectors(problem: Problem) -> Any:
    """``population (P, n) -> objectives (P, m)`` on flat vectors, with every non-finite
    value made +inf so that such an individual loses to every finite one."""
    import jax
    import jax.numpy as jnp

    unravel = unravel_for(problem)

    def one(x: Any) -> Any:
        f = jnp.atleast_1d(jnp.asarray(problem.objectives(unravel(x)), x.dtype))
        return jnp.where(jnp.isfinite(f), f, jnp.inf)

    return jax.vmap(one)
