"""A real-valued genetic algorithm in JAX: the population is evaluated in one batched call
and generations run inside the shared compiled loop (one step = one generation).

Selection by tournament, simulated binary or blend crossover, polynomial or Gaussian
mutation, and elitism (the best parents replace the worst children). Every individual
evaluated counts as one function evaluation, the initial population included. The
initial population is drawn uniformly from the problem's bounds, or from the default box
of ``optbench.flat_problem.search_box`` around the starting point.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from optbench.errors import SpecError
from optbench.flat_problem import flatten, loss_values, search_box, unravel_for
from optbench.optimizers import variation
from optbench.problem import Problem
from optbench.registry import register_optimizer
from optbench.solver import NativeSolver, StepInfo


class GAState(NamedTuple):
    best: Any  # the best individual, in the problem's own parameter structure
    population: Any  # (P, n) flat parameter vectors
    fitness: Any  # (P,) losses, +inf where not finite
    lower: Any
    upper: Any
    key: Any
    pending: Any  # evaluations made by init, counted with the first step


def check_operators(settings: dict[str, Any], pop_size: int, minimum: int = 2) -> None:
    """Reject operator names and population sizes the algorithm cannot use, clearly."""
    if settings["crossover"] not in variation.CROSSOVERS:
        raise SpecError(f"crossover must be one of {', '.join(variation.CROSSOVERS)}, got {settings['crossover']!r}")
    if settings["mutation"] not in variation.MUTATIONS:
        raise SpecError(f"mutation must be one of {', '.join(variation.MUTATIONS)}, got {settings['mutation']!r}")
    if pop_size < minimum:
        raise SpecError(f"pop_size must be at least {minimum}, got {pop_size}")


def mutation_rate(settings: dict[str, Any], n: int) -> Any:
    """The per-variable mutation probability: as given, else 1/n."""
    rate = settings["mutation_rate"]
    return 1.0 / n if rate is None else rate


class GeneticAlgorithm(NativeSolver):
    """Generational GA with tournament selection and elitism on flat parameter vectors."""

    searches_box = True

    def __init__(self, pop_size: int, tournament_size: int, elite: int, settings: dict[str, Any]):
        check_operators(settings, pop_size)
        if tournament_size < 1 or not 0 <= elite < pop_size:
            raise SpecError(f"need tournament_size >= 1 and 0 <= elite < pop_size, got {tournament_size}, {elite}")
        self.pop_size, self.tournament_size, self.elite, self.settings = pop_size, tournament_size, elite, settings

    def init(self, problem: Problem, data: Any, params: Any, key: Any) -> GAState:
        import jax
        import jax.numpy as jnp

        start = flatten(params)
        lower, upper = search_box(problem, start)
        sample_key, key = jax.random.split(key)
        population = variation.uniform_population(sample_key, self.pop_size, lower, upper)
        fitness = loss_values(problem, data)(population)
        best = unravel_for(problem)(population[jnp.argmin(fitness)])
        return GAState(best, population, fitness, lower, upper, key, jnp.asarray(self.pop_size, jnp.int32))

    def step(self, problem: Problem, data: Any, state: GAState) -> tuple[GAState, StepInfo]:
        import jax
        import jax.numpy as jnp

        size = self.pop_size
        vary_key, key = jax.random.split(state.key)
        settings = {
            **self.settings,
            "tournament_size": self.tournament_size,
            "mutation_rate": mutation_rate(self.settings, state.population.shape[1]),
        }
        children = variation.offspring(vary_key, state.population, state.fitness, state.lower, state.upper, settings)
        child_fitness = loss_values(problem, data)(children)
        elite = jnp.argsort(state.fitness)[: self.elite]
        survivors = jnp.argsort(child_fitness)[: size - self.elite]
        population = jnp.concatenate([state.population[elite], children[survivors]])
        fitness = jnp.concatenate([state.fitness[elite], child_fitness[survivors]])
        info = StepInfo(jnp.min(state.fitness), size + state.pending, 0, False, state.pending, 0)
        best = unravel_for(problem)(population[jnp.argmin(fitness)])
        pending = jnp.zeros_like(state.pending)
        return GAState(best, population, fitness, state.lower, state.upper, key, pending), info

    def params(self, state: GAState) -> Any:
        return state.best

    def known_loss(self, state: GAState) -> Any:
        import jax.numpy as jnp

        return jnp.min(state.fitness)  # ``best`` is the fittest member (NaN counted as +inf)


@register_optimizer("ga", requires=("value",), keeps_bounds=True, space=variation.SPACE)
def ga(
    pop_size: int = 100,
    tournament_size: int = 3,
    elite: int = 2,
    crossover: str = "sbx",
    crossover_rate: float = 0.9,
    eta_c: float = 15.0,
    blend_alpha: float = 0.5,
    mutation: str = "polynomial",
    mutation_rate: float | None = None,
    eta_m: float = 20.0,
    sigma: float = 0.1,
) -> GeneticAlgorithm:
    """Genetic algorithm (tournament, SBX or blend crossover, polynomial or Gaussian mutation, elitism)."""
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
    return GeneticAlgorithm(pop_size, tournament_size, elite, settings)
