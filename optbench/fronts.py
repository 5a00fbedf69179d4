"""Pareto fronts: dominance, non-dominated ranks, crowding, and the indicators that judge a front.

All objectives are minimized. Functions take an (N, M) array of objective vectors and
work on numpy arrays too (they return JAX arrays); they are pure, so they can run inside
a compiled loop. A non-finite objective counts as +inf: such a point loses to every
finite one.

References: Deb et al., "A fast and elitist multiobjective genetic algorithm: NSGA-II"
(2002) for non-dominated sorting and crowding distance; Zitzler & Thiele (1998) for the
hypervolume; Coello & Reyes Sierra (2004) for IGD; Ishibuchi et al. (2015) for IGD+.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from optbench.errors import OptbenchError

if TYPE_CHECKING:
    from optbench.problem import Problem


def _finite(objectives: Any) -> Any:
    import jax.numpy as jnp

    values = jnp.asarray(objectives)
    return jnp.where(jnp.isnan(values), jnp.inf, values)


def dominance(objectives: Any) -> Any:
    """(N, N) booleans: entry (i, j) says point i dominates point j (no worse in every
    objective, better in at least one). Equal points do not dominate each other."""
    import jax.numpy as jnp

    f = _finite(objectives)
    # One objective at a time: XLA handles (N, N) planes far faster than an (N, N, M) cube
    # reduced over its short last axis.
    no_worse = functools.reduce(jnp.logical_and, [f[:, None, k] <= f[None, :, k] for k in range(f.shape[1])])
    better = functools.reduce(jnp.logical_or, [f[:, None, k] < f[None, :, k] for k in range(f.shape[1])])
    return no_worse & better


def nondominated_ranks(objectives: Any) -> Any:
    """The front of each point: 0 for the non-dominated ones, 1 for those dominated only
    by front 0, and so on (fast non-dominated sorting, peeling one front per pass)."""
    import jax
    import jax.numpy as jnp

    dominates = dominance(objectives)
    n = dominates.shape[0]
    unranked = jnp.full(n, n, jnp.int32)

    def more(carry):
        rank, ranks = carry
        return jnp.any(ranks == n) & (rank < n)

    def peel(carry):
        rank, ranks = carry
        left = ranks == n
        # Points still unranked that no unranked point dominates form the next front.
        dominated = jnp.any(dominates & left[:, None], axis=0)
        return rank + 1, jnp.where(left & ~dominated, rank, ranks)

    _, ranks = jax.lax.while_loop(more, peel, (jnp.zeros((), jnp.int32), unranked))
    return ranks


def crowding_distance(objectives: Any, ranks: Any) -> Any:
    """NSGA-II's crowding distance of each point within its own front: the sum over
    objectives of the gap between its two neighbours, divided by the front's range in
    that objective; the extreme points of a front (and every point of a front of one or
    two) get infinity."""
    import jax
    import jax.numpy as jnp

    f = _finite(objectives)
    n, m = f.shape
    ranks = jnp.asarray(ranks)
    total = jnp.zeros(n, f.dtype)
    for k in range(m):
        column = f[:, k]
        order = jnp.lexsort((column, ranks))  # by front, then by this objective
        sorted_f, sorted_rank = column[order], ranks[order]
        prev_same = jnp.concatenate([jnp.array([False]), sorted_rank[1:] == sorted_rank[:-1]])
        next_same = jnp.concatenate([sorted_rank[:-1] == sorted_rank[1:], jnp.array([False])])
        low = jax.ops.segment_min(column, ranks, num_segments=n)[sorted_rank]
        high = jax.ops.segment_max(column, ranks, num_segments=n)[sorted_rank]
        span = high - low
        gap = jnp.roll(sorted_f, -1) - jnp.roll(sorted_f, 1)
        inner = jnp.where(span > 0, gap / jnp.where(span > 0, span, 1.0), 0.0)
        inner = jnp.where(jnp.isfinite(inner), inner, jnp.inf)
        value = jnp.where(prev_same & next_same, inner, jnp.inf)
        total = total.at[order].add(value)
    return total


def hypervolume_2d(objectives: Any, reference: Any) -> Any:
    """The area dominated by the points and bounded by ``reference`` (two objectives),
    exactly: the staircase under the points sorted by the first objective."""
    import jax
    import jax.numpy as jnp

    f = _finite(objectives)
    ref = jnp.asarray(reference, f.dtype)
    inside = jnp.all(f < ref, axis=1)
    f1 = jnp.where(inside, f[:, 0], ref[0])
    f2 = jnp.where(inside, f[:, 1], ref[1])
    order = jnp.lexsort((f2, f1))
    f1, f2 = f1[order], f2[order]
    best_f2 = jax.lax.cummin(f2)
    width = jnp.concatenate([f1[1:], ref[None, 0]]) - f1
    return jnp.sum(width * (ref[1] - best_f2))


def igd(objectives: Any, front: Any) -> Any:
    """Inverted generational distance: the mean, over points of the true ``front``, of
    the Euclidean distance to the nearest point found."""
    return igd_and_igd_plus(objectives, front)[0]


def igd_plus(objectives: Any, front: Any) -> Any:
    """IGD+: as IGD, but counting only how far a found point is worse than the true front
    point in each objective (a Pareto-compliant variant)."""
    return igd_and_igd_plus(objectives, front)[1]


def igd_and_igd_plus(objectives: Any, front: Any) -> tuple[Any, Any]:
    """IGD and IGD+ together, from one set of differences."""
    import jax.numpy as jnp

    f, z = _finite(objectives), jnp.asarray(front)
    plain = plus = 0.0
    for k in range(f.shape[1]):  # (front, found) planes, one objective at a time
        difference = f[None, :, k] - z[:, None, k]
        plain = plain + difference**2
        plus = plus + jnp.maximum(difference, 0.0) ** 2
    return jnp.mean(jnp.sqrt(jnp.min(plain, axis=1))), jnp.mean(jnp.sqrt(jnp.min(plus, axis=1)))


def front_indicators(problem: Problem, objectives: Any, first: Any = None) -> dict[str, Any]:
    """Hypervolume against the problem's reference point (two objectives), and IGD and
    IGD+ against its known front where there is one, of the non-dominated points among
    ``objectives`` (P, m); ``first`` marks them when the caller knows (else they are
    sorted out here). Pure JAX: it runs inside the compiled loop too."""
    import jax.numpy as jnp

    f = jnp.asarray(objectives)
    front = problem.true_front
    out = {"hypervolume": hypervolume_2d(f, jnp.asarray(problem.reference_point, f.dtype))}
    if front is not None:
        # A dominated point can lie nearer a point of the true front than the points that
        # dominate it; only the population's own front is scored, as for a final front.
        first = nondominated_ranks(f) == 0 if first is None else first
        kept = jnp.where(first[:, None], f, jnp.inf)
        out["igd"], out["igd_plus"] = igd_and_igd_plus(kept, jnp.asarray(front, f.dtype))
    return out


def check_two_objectives(problem: Problem, n_objectives: int) -> None:
    """Hypervolume (the loss of a Pareto run) is computed for two objectives."""
    if n_objectives != 2:
        raise OptbenchError(
            f"{problem.name} has {n_objectives} objectives; optbench's hypervolume, the loss of a "
            "Pareto run, is computed for two"
        )
    if len(problem.reference_point) != 2:
        raise OptbenchError(f"{problem.name}: reference_point needs one value per objective (2)")
