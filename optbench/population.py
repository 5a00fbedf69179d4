"""What population methods share, native and foreign: the box they sample from, and the
indicators that judge a population's front.

Population methods search a problem's ``bounds``, else its ``search_box``, else a default
box around its starting point: ``x0 - (1 + |x0|)`` to ``x0 + (1 + |x0|)`` in every coordinate.
"""

from __future__ import annotations

from typing import Any

from optbench.problem import Problem


def search_box(problem: Problem, start: Any) -> tuple[Any, Any]:
    """The (lower, upper) box as flat vectors in ``ravel_pytree`` order of the parameters:
    the problem's bounds or else its search box (each leaf broadcast to its parameter's
    shape), else the default box around the flat starting point ``start`` (the one
    parameters ravel to)."""
    import jax
    import jax.numpy as jnp

    flat = jnp.asarray(start)
    box = problem.bounds if problem.bounds is not None else problem.search_box
    if box is None:
        half = 1.0 + jnp.abs(flat)
        return flat - half, flat + half
    from jax.flatten_util import ravel_pytree

    shapes = jax.eval_shape(problem.init_params, jax.random.PRNGKey(0))

    def ravel(bound: Any) -> Any:
        leaves = jax.tree_util.tree_map(lambda b, s: jnp.broadcast_to(jnp.asarray(b, s.dtype), s.shape), bound, shapes)
        return ravel_pytree(leaves)[0].astype(flat.dtype)

    return ravel(box[0]), ravel(box[1])


def objective_vectors(problem: Problem) -> Any:
    """``population (P, n) -> objectives (P, m)`` on flat vectors, with every non-finite
    value made +inf so that such an individual loses to every finite one."""
    import jax
    import jax.numpy as jnp

    from optbench.solver import unravel_for

    unravel = unravel_for(problem)

    def one(x: Any) -> Any:
        f = jnp.atleast_1d(jnp.asarray(problem.objectives(unravel(x)), x.dtype))
        return jnp.where(jnp.isfinite(f), f, jnp.inf)

    return jax.vmap(one)


def loss_values(problem: Problem, data: Any = None) -> Any:
    """``population (P, n) -> losses (P,)`` on flat vectors; NaN becomes +inf."""
    import jax
    import jax.numpy as jnp

    from optbench.solver import unravel_for

    unravel = unravel_for(problem)

    def one(x: Any) -> Any:
        value = jnp.asarray(problem.value(unravel(x), data), x.dtype)
        return jnp.where(jnp.isnan(value), jnp.inf, value)

    return jax.vmap(one)


def front_indicators(problem: Problem, objectives: Any, first: Any = None) -> dict[str, Any]:
    """Hypervolume against the problem's reference point (two objectives), and IGD and
    IGD+ against its known front where there is one, of the non-dominated points among
    ``objectives`` (P, m); ``first`` marks them when the caller knows (else they are
    sorted out here). Pure JAX: it runs inside the compiled loop too."""
    import jax.numpy as jnp

    from optbench import fronts

    f = jnp.asarray(objectives)
    front = problem.true_front
    out = {"hypervolume": fronts.hypervolume_2d(f, jnp.asarray(problem.reference_point, f.dtype))}
    if front is not None:
        # A dominated point can lie nearer a point of the true front than the points that
        # dominate it; only the population's own front is scored, as for a final front.
        first = fronts.nondominated_ranks(f) == 0 if first is None else first
        kept = jnp.where(first[:, None], f, jnp.inf)
        out["igd"], out["igd_plus"] = fronts.igd_and_igd_plus(kept, jnp.asarray(front, f.dtype))
    return out


def check_two_objectives(problem: Problem, n_objectives: int) -> None:
    """Hypervolume (the loss of a Pareto run) is computed for two objectives."""
    from optbench.errors import OptbenchError

    if n_objectives != 2:
        raise OptbenchError(
            f"{problem.name} has {n_objectives} objectives; optbench's hypervolume, the loss of a "
            "Pareto run, is computed for two"
        )
    if len(problem.reference_point) != 2:
        raise OptbenchError(f"{problem.name}: reference_point needs one value per objective (2)")
