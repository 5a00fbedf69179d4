"""Reference evolutionary algorithms from DEAP, fed by the same JAX problem.

DEAP owns the generation loop and its operators; optbench scores each generation's new
individuals in one batched call through a ``PopulationBridge`` (DEAP re-scores only the
individuals its operators changed, as it always does) and stops DEAP when the budget is
spent. Operators match the native ``ga`` and ``nsga2`` as closely as DEAP allows:
tournament selection, bounded SBX (``cxSimulatedBinaryBounded``), bounded polynomial
mutation (``mutPolynomialBounded``), elitism; NSGA-II with ``selTournamentDCD`` and
``selNSGA2``. DEAP draws from Python's ``random`` module: it is seeded with the run's
seed and restored afterwards.
"""

from __future__ import annotations

import contextlib
import copy
import random
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from optbench.errors import SpecError
from optbench.registry import register_optimizer
from optbench.result import Status
from optbench.solver import PopulationSolver

if TYPE_CHECKING:  # the driver that calls them: a layer above
    from optbench.drive.population_bridge import PopulationBridge


@contextlib.contextmanager
def _seeded(seed: int) -> Iterator[None]:
    state = random.getstate()
    random.seed(seed)
    try:
        yield
    finally:
        random.setstate(state)


def _individuals(n_objectives: int) -> type:
    """A list subclass with a DEAP fitness (all objectives minimized), made without
    ``deap.creator`` so that nothing global is created."""
    from deap import base

    class Fitness(base.Fitness):
        weights = (-1.0,) * n_objectives

    class Individual(list):
        def __init__(self, values: Any):
            super().__init__(values)
            self.fitness = Fitness()

    return Individual


class _DeapSolver(PopulationSolver):
    def __init__(self, pop_size: int, crossover_rate: float, eta_c: float, eta_m: float, mutation_rate: float | None):
        import deap.tools  # noqa: F401  (imported here, before any run's clock starts)

        if pop_size < 4:
            raise SpecError(f"pop_size must be at least 4, got {pop_size}")
        self.pop_size, self.crossover_rate, self.eta_c, self.eta_m = pop_size, crossover_rate, eta_c, eta_m
        self.mutation_rate = mutation_rate

    def _score(self, bridge: PopulationBridge, individuals: list) -> None:
        """Evaluate the individuals without a valid fitness, in one batched call."""
        invalid = [ind for ind in individuals if not ind.fitness.valid]
        if not invalid:
            return
        scores = bridge.evaluate(np.asarray(invalid, dtype=np.float64))
        for ind, score in zip(invalid, scores):
            ind.fitness.values = tuple(np.atleast_1d(score).tolist())

    def _vary(self, bridge: PopulationBridge, parents: list) -> list:
        """Clones of ``parents`` crossed in adjacent pairs and mutated, fitness invalidated."""
        from deap import tools

        low, up = bridge.lower.tolist(), bridge.upper.tolist()
        rate = 1.0 / bridge.n if self.mutation_rate is None else self.mutation_rate
        children = [copy.deepcopy(ind) for ind in parents]
        for a, b in zip(children[::2], children[1::2]):
            if random.random() < self.crossover_rate:
                tools.cxSimulatedBinaryBounded(a, b, self.eta_c, low, up)
        for child in children:
            tools.mutPolynomialBounded(child, self.eta_m, low, up, rate)
            del child.fitness.values
        return children

    def _start(self, bridge: PopulationBridge, n_objectives: int) -> list:
        make = _individuals(n_objectives)
        rng = np.random.default_rng(bridge.seed)
        box = bridge.lower + (bridge.upper - bridge.lower) * rng.random((self.pop_size, bridge.n))
        population = [make(row.tolist()) for row in box]
        self._score(bridge, population)
        return population


class DeapGA(_DeapSolver):
    """DEAP's generational GA: tournament, SBX, polynomial mutation, elitism."""

    def __init__(self, tournament_size: int, elite: int, **options: Any):
        super().__init__(**options)
        if tournament_size < 1 or not 0 <= elite < self.pop_size:
            raise SpecError(f"need tournament_size >= 1 and 0 <= elite < pop_size, got {tournament_size}, {elite}")
        self.tournament_size, self.elite = tournament_size, elite

    def evolve(self, bridge: PopulationBridge) -> tuple[Status, str]:
        from deap import tools

        with _seeded(bridge.seed):
            population = self._start(bridge, 1)
            while True:
                bridge.population(population, [ind.fitness.values[0] for ind in population])
                parents = tools.selTournament(population, self.pop_size, self.tournament_size)
                children = self._vary(bridge, parents)
                self._score(bridge, children)
                kept = tools.selBest(population, self.elite) + tools.selBest(children, self.pop_size - self.elite)
                population = [copy.deepcopy(ind) for ind in kept]


class DeapNSGA2(_DeapSolver):
    """DEAP's NSGA-II: ``selTournamentDCD`` for parents, ``selNSGA2`` for survivors."""

    def evolve(self, bridge: PopulationBridge) -> tuple[Status, str]:
        from deap import tools

        if self.pop_size % 4:
            raise SpecError(f"DEAP's selTournamentDCD needs pop_size divisible by 4, got {self.pop_size}")
        with _seeded(bridge.seed):
            population = tools.selNSGA2(self._start(bridge, 2), self.pop_size)
            while True:
                bridge.population(population, [ind.fitness.values for ind in population])
                children = self._vary(bridge, tools.selTournamentDCD(population, self.pop_size))
                self._score(bridge, children)
                population = tools.selNSGA2(population + children, self.pop_size)


@register_optimizer("deap_ga", requires=("value",), family="deap", keeps_bounds=True)
def deap_ga(
    pop_size: int = 100,
    tournament_size: int = 3,
    elite: int = 2,
    crossover_rate: float = 0.9,
    eta_c: float = 15.0,
    mutation_rate: float | None = None,
    eta_m: float = 20.0,
) -> DeapGA:
    """DEAP genetic algorithm (reference for ga): tournament, bounded SBX and polynomial mutation, elitism."""
    return DeapGA(
        tournament_size,
        elite,
        pop_size=pop_size,
        crossover_rate=crossover_rate,
        eta_c=eta_c,
        eta_m=eta_m,
        mutation_rate=mutation_rate,
    )


@register_optimizer("deap_nsga2", requires=("objectives",), family="deap", keeps_bounds=True)
def deap_nsga2(
    pop_size: int = 100,
    crossover_rate: float = 0.9,
    eta_c: float = 15.0,
    mutation_rate: float | None = None,
    eta_m: float = 20.0,
) -> DeapNSGA2:
    """DEAP NSGA-II (reference for nsga2): selNSGA2 with its standard sort, selTournamentDCD."""
    return DeapNSGA2(
        pop_size=pop_size, crossover_rate=crossover_rate, eta_c=eta_c, eta_m=eta_m, mutation_rate=mutation_rate
    )
