"""Search spaces: the range each tunable hyperparameter of an optimizer is tuned over, and
quasi-random draws of trials from them.

A range maps a point ``u`` of the unit interval to a value: log-uniformly (learning rates,
over decades), log-uniformly in ``1 - x`` (momentum and decay rates near 1: 0.9, 0.99 and
0.999 are equally far apart) or uniformly; an integer range (a population size) rounds to the
nearest whole number. A range may apply only where other hyperparameters have given values
(``when``: Gaussian mutation's ``sigma`` is tuned only where ``mutation = "gaussian"``).
Trials are a scrambled Halton sequence (``scipy.stats.qmc``), seeded by the study, so a
study draws the same trials every time, and trials cover the space more evenly than
independent draws.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from optbench.errors import SpecError

SCALES = ("log", "log1m", "linear")


@dataclass(frozen=True)
class Range:
    """A hyperparameter's range: ``low`` to ``high`` on ``scale``, whole numbers where
    ``integer``, searched only where each ``(hyperparameter, value)`` of ``when`` holds
    (see the module)."""

    low: float
    high: float
    scale: str = "log"
    integer: bool = False
    when: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        if self.scale not in SCALES:
            raise SpecError(f"a search range's scale is one of {', '.join(SCALES)}, got {self.scale!r}")
        if not self.low < self.high:
            raise SpecError(f"a search range needs low < high, got {self.low:g} and {self.high:g}")
        if self.scale == "log" and self.low <= 0:
            raise SpecError(f"a log range needs low > 0, got {self.low:g}")
        if self.scale == "log1m" and self.high >= 1:
            raise SpecError(f"a log1m range (1 - x on a log scale) needs high < 1, got {self.high:g}")

    def value(self, u: float) -> float | int:
        """The value at ``u`` in [0, 1): ``low`` at 0, ``high`` at 1 (rounded where integer)."""
        if self.scale == "log":
            value = math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        elif self.scale == "log1m":
            low, high = math.log(1.0 - self.low), math.log(1.0 - self.high)
            value = 1.0 - math.exp(low + u * (high - low))
        else:
            value = self.low + u * (self.high - self.low)
        return min(max(round(value), math.ceil(self.low)), math.floor(self.high)) if self.integer else value

    def applies(self, settings: dict[str, Any]) -> bool:
        """Whether the range is searched for a configuration with these hyperparameters."""
        return all(settings.get(name) == value for name, value in self.when)

    def __str__(self) -> str:
        how = {"log": "log-uniform", "log1m": "log-uniform in 1 - x", "linear": "uniform"}[self.scale]
        whole = ", whole numbers" if self.integer else ""
        where = "".join(f", where {name} = {value!r}" for name, value in self.when)
        return f"{self.low:g} to {self.high:g}, {how}{whole}{where}"


def log_range(low: float, high: float) -> Range:
    return Range(low, high, "log")


def one_minus_log_range(low: float, high: float) -> Range:
    return Range(low, high, "log1m")


def draw(space: dict[str, Range], trials: int, study: int) -> list[dict[str, float]]:
    """``trials`` points of ``space`` (hyperparameter -> value), the same for the same study:
    a scrambled Halton sequence seeded by ``study``. An empty space gives one empty trial
    (the defaults): there is nothing to tune."""
    if not space:
        return [{}]
    from scipy.stats import qmc

    names = sorted(space)
    points = qmc.Halton(d=len(names), scramble=True, seed=study).random(trials)
    return [{name: space[name].value(float(u)) for name, u in zip(names, point)} for point in points]


def describe(space: dict[str, Any]) -> list[str]:
    """A space's lines for ``optbench describe``."""
    return [f"  {name}: {space[name]}" for name in sorted(space)]
