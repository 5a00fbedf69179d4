"""Reference multi-objective search from pymoo, fed by the same JAX problem.

pymoo's NSGA-II at its defaults (SBX and polynomial mutation, duplicate elimination),
driven generation by generation through its ask-and-tell interface; each generation's
offspring are scored in one batched call through a ``PopulationBridge``, which counts
every individual and stops pymoo when the budget is spent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from optbench.errors import SpecError
from optbench.registry import register_optimizer
from optbench.result import Status
from optbench.solver import PopulationSolver

if TYPE_CHECKING:  # the driver that calls them: a layer above
    from optbench.drive.population_bridge import PopulationBridge


class PymooNSGA2(PopulationSolver):
    """``pymoo.algorithms.moo.nsga2.NSGA2`` on the problem's objectives."""

    def __init__(self, pop_size: int, crossover_rate: float, eta_c: float, eta_m: float):
        import pymoo.algorithms.moo.nsga2  # noqa: F401  (imported here, before any run's clock starts)

        if pop_size < 4:
            raise SpecError(f"pop_size must be at least 4, got {pop_size}")
        self.pop_size, self.crossover_rate, self.eta_c, self.eta_m = pop_size, crossover_rate, eta_c, eta_m

    def evolve(self, bridge: PopulationBridge) -> tuple[Status, str]:
        from pymoo.algorithms.moo.nsga2 import NSGA2
        from pymoo.core.problem import Problem as PymooProblem
        from pymoo.core.termination import NoTermination
        from pymoo.operators.crossover.sbx import SBX
        from pymoo.operators.mutation.pm import PM

        class Scored(PymooProblem):
            def __init__(self) -> None:
                super().__init__(n_var=bridge.n, n_obj=2, xl=bridge.lower, xu=bridge.upper)

            def _evaluate(self, x: Any, out: dict[str, Any], *args: Any, **kwargs: Any) -> None:
                out["F"] = bridge.evaluate(x)

        algorithm = NSGA2(
            pop_size=self.pop_size, crossover=SBX(prob=self.crossover_rate, eta=self.eta_c), mutation=PM(eta=self.eta_m)
        )
        problem = Scored()
        algorithm.setup(problem, termination=NoTermination(), seed=bridge.seed, verbose=False)
        while True:
            offspring = algorithm.ask()
            algorithm.evaluator.eval(problem, offspring)
            algorithm.tell(infills=offspring)
            bridge.population(algorithm.pop.get("X"), np.asarray(algorithm.pop.get("F"), np.float64))


@register_optimizer("pymoo_nsga2", requires=("objectives",), family="pymoo", keeps_bounds=True)
def pymoo_nsga2(
    pop_size: int = 100, crossover_rate: float = 0.9, eta_c: float = 15.0, eta_m: float = 20.0
) -> PymooNSGA2:
    """pymoo NSGA-II (reference for nsga2) at pymoo's defaults."""
    return PymooNSGA2(pop_size, crossover_rate, eta_c, eta_m)
