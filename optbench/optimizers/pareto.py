"""NSGA-II in JAX (Deb, Pratap, Agarwal & Meyarivan, 2002), on the shared compiled loop.

One step is one generation: binary tournaments on (front, crowding distance), simulated
binary crossover and polynomial mutation, the children evaluated in one batched call,
then parents and children sorted into fronts together and the best half kept, fronts
first and the less crowded first within the last front that fits. Sorting and crowding
are vectorized (``optbench.fronts``). The run's loss is minus the hypervolume of the
population against the problem's reference point, so convergence plots, targets and
tables work as for any other method; the hypervolume, IGD and IGD+ are in the trace.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from optbench import fronts
from optbench.flat_problem import flatten, objective_vectors, search_box
from optbench.fronts import check_two_objectives, front_indicators
from optbench.optimizers import variation
from optbench.optimizers.evolutionary import check_operators, mutation_rate
from optbench.problem import Problem
from optbench.registry import register_optimizer
from optbench.solver import NativeSolver, StepInfo


class NSGA2State(NamedTuple):
    population: Any  # (P, n) flat parameter vectors
    objectives: Any  # (P, m), +inf where not finite
    rank: Any  # front of each member (0: non-dominated)
    crowding: Any
    lower: Any
    upper: Any
    key: Any
    pending: Any  # evaluations made by init, counted with the first step
    scores: Any  # the population's hypervolume (and IGD, IGD+), computed once when it forms


def survivors(objectives: Any, count: int) -> tuple[Any, Any, Any]:
    """NSGA-II's environmental selection: indices of the ``count`` best by front, then by
    crowding distance (larger first), with their fronts and crowding distances."""
    import jax.numpy as jnp

    rank = fronts.nondominated_ranks(objectives)
    crowding = fronts.crowding_distance(objectives, rank)
    keep = jnp.lexsort((-crowding, rank))[:count]
    return keep, rank[keep], crowding[keep]


class NSGA2(NativeSolver):
    """NSGA-II on flat parameter vectors inside the problem's bounds."""

    searches_box = True

    def __init__(self, pop_size: int, settings: dict[str, Any]):
        check_operators(settings, pop_size, minimum=4)
        self.pop_size, self.settings = pop_size, settings

    def init(self, problem: Problem, data: Any, params: Any, key: Any) -> NSGA2State:
        import jax
        import jax.numpy as jnp

        lower, upper = search_box(problem, flatten(params))
        sample_key, key = jax.random.split(key)
        population = variation.uniform_population(sample_key, self.pop_size, lower, upper)
        objectives = objective_vectors(problem)(population)
        check_two_objectives(problem, objectives.shape[1])
        keep, rank, crowding = survivors(objectives, self.pop_size)
        pending = jnp.asarray(self.pop_size, jnp.int32)
        scores = front_indicators(problem, objectives[keep], rank == 0)
        return NSGA2State(population[keep], objectives[keep], rank, crowding, lower, upper, key, pending, scores)

    def step(self, problem: Problem, data: Any, state: NSGA2State) -> tuple[NSGA2State, StepInfo]:
        import jax
        import jax.numpy as jnp

        size = self.pop_size
        vary_key, key = jax.random.split(state.key)
        # Position in the crowded-comparison order: the lower wins a binary tournament.
        order = jnp.lexsort((-state.crowding, state.rank))
        position = jnp.zeros(size, jnp.int32).at[order].set(jnp.arange(size, dtype=jnp.int32))
        settings = {
            **self.settings,
            "tournament_size": 2,
            "mutation_rate": mutation_rate(self.settings, state.population.shape[1]),
        }
        children = variation.offspring(vary_key, state.population, position, state.lower, state.upper, settings)
        pool = jnp.concatenate([state.population, children])
        pool_objectives = jnp.concatenate([state.objectives, objective_vectors(problem)(children)])
        keep, rank, crowding = survivors(pool_objectives, size)
        info = StepInfo(self.measured_loss(problem, data, state), size + state.pending, 0, False, state.pending, 0)
        objectives, pending = pool_objectives[keep], 0 * state.pending
        scores = front_indicators(problem, objectives, rank == 0)
        new = NSGA2State(pool[keep], objectives, rank, crowding, state.lower, state.upper, key, pending, scores)
        return new, info

    def params(self, state: NSGA2State) -> Any:
        return None

    def measured_loss(self, problem: Problem, data: Any, state: NSGA2State) -> Any:
        return -state.scores["hypervolume"]

    def indicators(self, problem: Problem, state: NSGA2State) -> dict[str, Any]:
        return state.scores

    def front(self, state: NSGA2State) -> tuple[Any, Any, Any]:
        return state.objectives, state.population, state.rank == 0


@register_optimizer("nsga2", requires=("objectives",), family="pareto", keeps_bounds=True, space=variation.SPACE)
def nsga2(
    pop_size: int = 100,
    crossover: str = "sbx",
    crossover_rate: float = 0.9,
    eta_c: float = 15.0,
    blend_alpha: float = 0.5,
    mutation: str = "polynomial",
    mutation_rate: float | None = None,
    eta_m: float = 20.0,
    sigma: float = 0.1,
) -> NSGA2:
    """NSGA-II: non-dominated sorting and crowding distance, SBX and polynomial mutation."""
    settings = {
        "crossover": crossover,
        "crossover_rate": crossover_rate,
        "eta_c": eta_c,
        "blend_alpha": blend_alpha,
        "mutation": mutation,
        "mutation_rate": mutation_rate,
        "eta_m": eta_m,
        "sigma": sigma,
    }
    return NSGA2(pop_size, settings)
