"""pycma's CMA-ES, the CPU reference for evolution strategies (Hansen, Akimoto and Baudis,
"CMA-ES/pycma", 2019), through its ask/tell interface, fed by the same JAX problem.

pycma owns the strategy and its stopping tests; optbench scores each population it asks
for in one batched call through a ``PopulationBridge`` and stops it when the budget is
spent. The first mean is the run's starting point and the first step size ``sigma`` times
the mean width of the search box (Hansen's advice: a quarter of the domain). With
``restarts``, a run that meets pycma's stopping tests starts again with twice the
population from a point drawn uniformly in the box (IPOP-CMA-ES, Auger & Hansen 2005).
The answer is the best point evaluated (pycma's ``xbest``). A problem's bounds are passed
to pycma, which keeps its points inside them. pycma seeds numpy's global generator: the
run's seed, with the generator's state restored afterwards.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from optbench.errors import SpecError
from optbench.registry import register_optimizer
from optbench.result import Status
from optbench.solver import PopulationSolver
from optbench.tuning.space import log_range

if TYPE_CHECKING:  # the driver that calls it: a layer above
    from optbench.drive.population_bridge import PopulationBridge

BATCH = 16  # the bridge's compiled batch where pycma picks the population (4 + 3 ln n): padded to it


@contextlib.contextmanager
def _numpy_seeded() -> Iterator[None]:
    state = np.random.get_state()
    try:
        yield
    finally:
        np.random.set_state(state)


class PycmaES(PopulationSolver):
    """pycma's ``CMAEvolutionStrategy``, with IPOP restarts when ``restarts`` > 0."""

    def __init__(self, pop_size: int | None, sigma: float, restarts: int):
        import cma  # noqa: F401  (imported here, before any run's clock starts)

        if pop_size is not None and pop_size < 2:
            raise SpecError(f"pop_size must be at least 2, got {pop_size}")
        if not sigma > 0 or restarts < 0:
            raise SpecError(f"need sigma > 0 and restarts >= 0, got {sigma} and {restarts}")
        self.popsize, self.sigma, self.restarts = pop_size, sigma, restarts
        self.pop_size = pop_size or BATCH

    def evolve(self, bridge: PopulationBridge) -> tuple[Status, str]:
        import cma

        from optbench.flat_problem import flat_start

        x0 = np.asarray(flat_start(bridge.problem, bridge.seed), np.float64)
        sigma0 = self.sigma * float(np.mean(bridge.upper - bridge.lower))
        rng = np.random.default_rng(bridge.seed)
        best_x, best_f = x0, np.inf
        popsize, starts = self.popsize, 0
        with _numpy_seeded():
            while starts <= self.restarts:
                starts += 1
                options = {"seed": bridge.seed % (2**32 - 1) + 1, "verbose": -9, "maxfevals": np.inf, "maxiter": np.inf}
                if popsize is not None:
                    options["popsize"] = popsize
                if bridge.problem.bounds is not None:
                    options["bounds"] = [bridge.lower.tolist(), bridge.upper.tolist()]
                es = cma.CMAEvolutionStrategy(x0.tolist(), sigma0, options)
                while not es.stop():
                    points = np.asarray(es.ask(), np.float64)
                    scores = bridge.evaluate(points)
                    es.tell(list(points), scores.tolist())
                    i = int(np.argmin(scores))
                    if scores[i] < best_f:
                        best_x, best_f = points[i], float(scores[i])
                    # The generation and the best point so far: the trace's loss is the best seen.
                    bridge.population(np.vstack([points, best_x]), np.append(scores, best_f))
                stopped = ", ".join(f"{name}={value:g}" for name, value in es.stop().items() if np.isscalar(value))
                popsize = 2 * es.popsize
                x0 = bridge.lower + (bridge.upper - bridge.lower) * rng.random(bridge.n)
        return Status.CONVERGED, f"pycma stopped ({stopped}) after {starts - 1} restart(s)"


@register_optimizer(
    "cma_es", requires=("value",), family="pycma", keeps_bounds=True, space={"sigma": log_range(0.02, 1.0)}
)
def cma_es(pop_size: int | None = None, sigma: float = 0.25, restarts: int = 0) -> PycmaES:
    """pycma's CMA-ES (reference for evosax_cma_es); restarts > 0: IPOP-CMA-ES."""
    return PycmaES(pop_size, sigma, restarts)
