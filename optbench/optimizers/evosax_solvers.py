"""evosax's evolution strategies driven by optbench's own compiled loop: one ``ask``, one
batched evaluation of the population and one ``tell`` are one step (a generation), so
budgets, counts, traces and stopping are optbench's and the strategy is evosax's (Lange,
"evosax: JAX-based evolution strategies", 2023).

Every individual evaluated counts as one evaluation. A distribution's first mean is the
run's starting point, evaluated in ``init`` (one evaluation, counted with the first step),
and its first step size is ``sigma`` times the mean width of the search box
(``optbench.flat_problem.search_box``: a problem's bounds, else a box around the start;
Hansen recommends a quarter of the domain's width). A population method (DE, PSO) draws its first
population uniformly in that box and evaluates it in ``init``. The answer is the best point
evaluated so far (pycma's ``xbest``), whose loss the state holds. Black boxes are evaluated
through their host callback, a population in one call where the function is vectorized.

A run converges, as pycma's do, where the strategy's spread falls to ``xtol`` (pycma's
TolX, 1e-11): the step size times the largest standard deviation of the covariance
(CMA-ES), or the largest distance of a member from the best (DE, PSO); or where the losses
of the last generation and the best of each of the last 10 + 30 n / P generations lie
within ``ftol`` (pycma's TolFun, 1e-11) of each other. OpenAI-ES keeps its step size: only
the second test can stop it.

evosax is imported on first use (``pip install 'optbench[jax-solvers]'``).
"""

from __future__ import annotations

import importlib.util
import math
from typing import Any, NamedTuple

from optbench.errors import OptbenchError, SpecError
from optbench.flat_problem import flatten, loss_values, search_box, unravel_for
from optbench.optimizers import variation
from optbench.problem import Problem
from optbench.registry import register_optimizer
from optbench.solver import NativeSolver, StepInfo, same_types
from optbench.tuning.space import Range, log_range

# What optbench tune searches: the first step size over decades around Hansen's quarter of
# the box; DE's rates over Storn and Price's ranges; PSO's coefficients around Clerc and
# Kennedy's constriction values (0.73, 1.5, 1.5).
STEP_SPACE = {"sigma": log_range(0.02, 1.0)}
XTOL = FTOL = 1e-11  # pycma's default TolX and TolFun

PACKAGE = "evosax"
MISSING = f"needs {PACKAGE}, which is not installed: pip install {PACKAGE} (or pip install 'optbench[jax-solvers]')"


class _State(NamedTuple):
    best: Any  # the best point evaluated, in the problem's own structure
    best_x: Any  # the same, flat
    best_f: Any  # its loss
    inner: Any  # evosax's state
    width: Any  # the search box's mean width: the unit of sigma (and of OpenAI-ES's learning rate)
    history: Any  # the best loss of each of the last generations, newest last (+inf before them)
    last_worst: Any  # the last generation's largest loss
    key: Any
    pending: Any  # evaluations made by init, counted with the first step


class Evosax(NativeSolver):
    """An evosax strategy (``name``, a class of ``evosax.algorithms``) with ``pop_size``
    individuals; ``settings`` replace its default parameters (``sigma`` the first step size,
    relative to the search box). ``distribution``: it samples around a mean (CMA-ES), else
    it evolves a population (DE, PSO)."""

    searches_box = True

    def __init__(
        self,
        name: str,
        pop_size: int | None,
        sigma: Any,
        settings: dict[str, Any],
        distribution: bool,
        xtol: Any = XTOL,
        ftol: Any = FTOL,
        learning_rate: Any = None,
    ):
        if pop_size is not None and pop_size < 4:
            raise SpecError(f"{name} needs pop_size of at least 4, got {pop_size}")
        if name == "Open_ES" and pop_size is not None and pop_size % 2:
            raise SpecError(f"evosax_open_es samples in mirrored pairs: pop_size must be even, got {pop_size}")
        _evosax()
        self.name, self.pop_size, self.sigma, self.settings = name, pop_size, sigma, settings
        self.distribution, self.xtol, self.ftol, self.learning_rate = distribution, xtol, ftol, learning_rate

    def size(self, n: int) -> int:
        """The population: as given, else Hansen's 4 + 3 ln n (CMA-ES; OpenAI-ES: the even
        number at or above it) or Storn and Price's 10 n (DE, PSO)."""
        if self.pop_size is not None:
            return self.pop_size
        if not self.distribution:
            return max(20, 10 * n)
        size = 4 + int(3 * math.log(n))
        return size + size % 2 if self.name == "Open_ES" else size

    def _strategy(self, x: Any, width: Any) -> tuple[Any, Any]:
        import evosax.algorithms
        import jax.numpy as jnp

        options = {}
        if self.name == "Open_ES":  # its step size and optimizer are the strategy's, not its parameters
            import optax

            options = {
                "std_schedule": optax.constant_schedule(self.sigma * width),
                "optimizer": optax.adam(self.learning_rate * width),
            }
        algorithm = getattr(evosax.algorithms, self.name)
        strategy = algorithm(population_size=self.size(x.shape[0]), solution=x, **options)
        changes = dict(self.settings)
        if self.distribution and self.name != "Open_ES":
            changes["std_init"] = self.sigma * width
        # In JAX's default float type, as evosax's own draws are (a float32 problem's
        # hyperparameters arrive as float32).
        changes = {name: jnp.asarray(value, jnp.result_type(float)) for name, value in changes.items()}
        return strategy, strategy.default_params.replace(**changes)

    def init(self, problem: Problem, data: Any, params: Any, key: Any) -> _State:
        import jax
        import jax.numpy as jnp

        start = flatten(params)
        lower, upper = search_box(problem, start)
        strategy, settings = self._strategy(start, jnp.mean(upper - lower))
        init_key, sample_key, key = jax.random.split(key, 3)
        if self.distribution:
            inner = strategy.init(init_key, start, settings)
            points = start[None]
        else:
            points = variation.uniform_population(sample_key, strategy.population_size, lower, upper)
        fitness = loss_values(problem, data)(points)
        if not self.distribution:
            inner = strategy.init(init_key, points, fitness, settings)
        best = jnp.argmin(fitness)
        pending = jnp.asarray(points.shape[0], jnp.int32)
        width = jnp.mean(upper - lower)
        history = jnp.full(10 + math.ceil(30 * start.shape[0] / strategy.population_size), jnp.inf, fitness.dtype)
        worst = jnp.asarray(jnp.inf, fitness.dtype)
        flat_best = points[best]
        return _State(
            unravel_for(problem)(flat_best), flat_best, fitness[best], inner, width, history, worst, key, pending
        )

    def spread(self, inner: Any) -> Any:
        """How far the strategy still searches (see the module's docstring); +inf for OpenAI-ES."""
        import jax.numpy as jnp

        if hasattr(inner, "C"):  # CMA-ES: the full matrix; separable CMA-ES: its diagonal
            variances = jnp.diagonal(inner.C) if inner.C.ndim == 2 else inner.C
            return inner.std * jnp.sqrt(jnp.max(variances))
        if hasattr(inner, "population"):
            return jnp.max(jnp.abs(inner.population - inner.best_solution))
        return jnp.asarray(jnp.inf)

    def step(self, problem: Problem, data: Any, state: _State) -> tuple[_State, StepInfo]:
        import jax
        import jax.numpy as jnp

        strategy, settings = self._strategy(state.best_x, state.width)
        size = strategy.population_size
        pending = jnp.zeros_like(state.pending)

        def generation(state: _State) -> _State:
            ask_key, tell_key, key = jax.random.split(state.key, 3)
            population, inner = strategy.ask(ask_key, state.inner, settings)
            fitness = loss_values(problem, data)(population)
            inner, _ = strategy.tell(tell_key, population, fitness, inner, settings)
            i = jnp.argmin(fitness)
            better = fitness[i] < state.best_f
            best_x = jnp.where(better, population[i], state.best_x)
            best_f = jnp.where(better, fitness[i], state.best_f)
            history = jnp.append(state.history[1:], fitness[i])
            best = unravel_for(problem)(best_x)
            new = _State(best, best_x, best_f, inner, state.width, history, jnp.max(fitness), key, pending)
            return same_types(new, state)

        # Tested first, as a converged state: a converged run evaluates nothing more (for a
        # black box every evaluation is a real call, and an uncounted one would make nfev lie).
        flat = jnp.max(jnp.maximum(state.history, state.last_worst)) - jnp.min(state.history) <= self.ftol
        converged = (self.spread(state.inner) <= self.xtol) | flat
        new = jax.lax.cond(converged, lambda s: s._replace(pending=pending), generation, state)
        nfev = jnp.where(converged, 0, size) + state.pending
        return new, StepInfo(state.best_f, nfev, 0, converged, state.pending, 0)

    def params(self, state: _State) -> Any:
        return state.best

    def known_loss(self, state: _State) -> Any:
        return state.best_f


def _evosax() -> None:
    if importlib.util.find_spec(PACKAGE) is None:
        raise OptbenchError(f"the evosax strategies {MISSING}")


@register_optimizer("evosax_cma_es", requires=("value",), family="evosax", space=STEP_SPACE)
def evosax_cma_es(pop_size: int | None = None, sigma: float = 0.25, xtol: float = XTOL, ftol: float = FTOL) -> Evosax:
    """evosax's CMA-ES (Hansen's covariance matrix adaptation), in optbench's loop."""
    return Evosax("CMA_ES", pop_size, sigma, {}, distribution=True, xtol=xtol, ftol=ftol)


@register_optimizer("evosax_sep_cma_es", requires=("value",), family="evosax", space=STEP_SPACE)
def evosax_sep_cma_es(
    pop_size: int | None = None, sigma: float = 0.25, xtol: float = XTOL, ftol: float = FTOL
) -> Evosax:
    """evosax's separable CMA-ES (a diagonal covariance: Ros & Hansen 2008), in optbench's loop."""
    return Evosax("Sep_CMA_ES", pop_size, sigma, {}, distribution=True, xtol=xtol, ftol=ftol)


@register_optimizer(
    "evosax_de",
    requires=("value",),
    family="evosax",
    space={"crossover_rate": Range(0.1, 1.0, "linear"), "differential_weight": Range(0.2, 1.5, "linear")},
)
def evosax_de(
    pop_size: int | None = None,
    crossover_rate: float = 0.9,
    differential_weight: float = 0.8,
    xtol: float = XTOL,
    ftol: float = FTOL,
) -> Evosax:
    """evosax's differential evolution (DE/rand/1/bin, Storn & Price 1997), in optbench's loop."""
    settings = {
        "crossover_rate": crossover_rate,
        "differential_weight": differential_weight,
        "differential_weight_min": differential_weight,
        "differential_weight_max": differential_weight,
    }
    return Evosax("DifferentialEvolution", pop_size, 0.0, settings, distribution=False, xtol=xtol, ftol=ftol)


@register_optimizer(
    "evosax_pso",
    requires=("value",),
    family="evosax",
    space={
        name: Range(low, high, "linear")
        for name, low, high in [("inertia", 0.3, 0.95), ("cognitive", 0.5, 2.5), ("social", 0.5, 2.5)]
    },
)
def evosax_pso(
    pop_size: int | None = None,
    inertia: float = 0.75,
    cognitive: float = 1.5,
    social: float = 2.0,
    xtol: float = XTOL,
    ftol: float = FTOL,
) -> Evosax:
    """evosax's particle swarm (Kennedy & Eberhart 1995), in optbench's loop."""
    settings = {"inertia_coeff": inertia, "cognitive_coeff": cognitive, "social_coeff": social}
    return Evosax("PSO", pop_size, 0.0, settings, distribution=False, xtol=xtol, ftol=ftol)


@register_optimizer(
    "evosax_open_es",
    requires=("value",),
    family="evosax",
    space={"sigma": log_range(0.005, 0.5), "learning_rate": log_range(1e-4, 0.1)},
)
def evosax_open_es(
    pop_size: int | None = None, sigma: float = 0.02, learning_rate: float = 0.01, ftol: float = FTOL
) -> Evosax:
    """evosax's OpenAI-ES (Salimans et al. 2017: mirrored samples, ranks, Adam), in optbench's loop."""
    return Evosax("Open_ES", pop_size, sigma, {}, distribution=True, ftol=ftol, learning_rate=learning_rate)
