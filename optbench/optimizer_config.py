"""An optimizer configuration: a registered factory and the hyperparameters of one run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import optax

from optbench.errors import OptbenchError
from optbench.optimizers.first_order import FirstOrder
from optbench.registry import REGISTRY, Entry
from optbench.solver import HostSolver, NativeSolver
from optbench.spec import Spec, format_spec, parse_spec


@dataclass(frozen=True)
class OptimizerConfig:
    """One point of an optimizer's hyperparameter space.

    Float hyperparameters are data: runs that differ only in them share one compiled
    program. Everything else (ints, booleans, strings) is part of the program.
    """

    entry: Entry
    params: dict[str, Any]

    @property
    def name(self) -> str:
        return self.entry.name

    @property
    def label(self) -> str:
        """The canonical spec, naming only the hyperparameters that differ from the defaults."""
        defaults = self.entry.defaults
        return format_spec(self.name, {k: v for k, v in self.params.items() if defaults.get(k) != v})

    @property
    def floats(self) -> dict[str, float]:
        return {k: v for k, v in self.params.items() if isinstance(v, float)}

    @property
    def solver_key(self) -> tuple[Any, ...]:
        """What identifies the compiled program: the factory and its non-float arguments."""
        static = tuple(sorted((k, v) for k, v in self.params.items() if not isinstance(v, float)))
        return (self.entry.factory, static)

    def build(self, floats: dict[str, Any]) -> NativeSolver | HostSolver:
        """The solver with these float hyperparameters (numbers or traced arrays)."""
        static = {k: v for k, v in self.params.items() if not isinstance(v, float)}
        return as_solver(self.entry.factory(**static, **floats), self.name)


def optimizer_configs(spec: str | Spec) -> list[OptimizerConfig]:
    """Every configuration a spec names: one per point of its hyperparameter grid."""
    parsed = parse_spec(spec) if isinstance(spec, str) else spec
    entry = REGISTRY.get("optimizer", parsed.name)
    return [OptimizerConfig(entry, entry.resolve(point.params)) for point in parsed.expand()]


def as_solver(made: Any, name: str) -> NativeSolver:
    """Turn what a factory returned into a native solver."""
    if isinstance(made, (NativeSolver, HostSolver)):
        return made
    if isinstance(made, optax.GradientTransformation):
        return FirstOrder(made)
    raise OptbenchError(
        f"optimizer {name!r} returned {type(made).__name__}; expected an optax GradientTransformation "
        "or an optbench solver such as FirstOrder"
    )
