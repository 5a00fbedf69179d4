"""The 27 NIST StRD nonlinear regression problems, with certified parameters and RSS.

Numbers come from ``nist_strd.json`` beside this file, made from NIST's .dat files by
``scripts/convert_nist.py``. Each problem is ``nist_<name>`` with ``start`` 1 (far from the
solution) or 2 (closer), computed in float64. The loss is the mean squared residual, so
``f_opt`` is the certified residual sum of squares divided by the number of observations.
Reference: NIST Statistical Reference Datasets, Nonlinear Regression (itl.nist.gov/div898/strd).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from optbench import Problem, least_squares_problem, register_problem
from optbench.metrics import lre

_DATA = Path(__file__).with_name("nist_strd.json")


def _models() -> dict[str, Any]:
    """The model y = f(b, x) of each problem, as NIST writes it (Nelson fits log y)."""
    import jax.numpy as jnp

    pi = jnp.pi
    exp = jnp.exp
    rational3 = lambda b, x: (b[0] + b[1] * x + b[2] * x**2 + b[3] * x**3) / (1 + b[4] * x + b[5] * x**2 + b[6] * x**3)
    gauss = lambda b, x: (
        b[0] * exp(-b[1] * x) + b[2] * exp(-((x - b[3]) ** 2) / b[4] ** 2) + b[5] * exp(-((x - b[6]) ** 2) / b[7] ** 2)
    )
    lanczos = lambda b, x: b[0] * exp(-b[1] * x) + b[2] * exp(-b[3] * x) + b[4] * exp(-b[5] * x)
    misra1a = lambda b, x: b[0] * (1 - exp(-b[1] * x))
    chwirut = lambda b, x: exp(-b[0] * x) / (b[1] + b[2] * x)
    return {
        "bennett5": lambda b, x: b[0] * (b[1] + x) ** (-1 / b[2]),
        "boxbod": misra1a,
        "chwirut1": chwirut,
        "chwirut2": chwirut,
        "danwood": lambda b, x: b[0] * x ** b[1],
        "enso": lambda b, x: (
            b[0]
            + b[1] * jnp.cos(2 * pi * x / 12)
            + b[2] * jnp.sin(2 * pi * x / 12)
            + b[4] * jnp.cos(2 * pi * x / b[3])
            + b[5] * jnp.sin(2 * pi * x / b[3])
            + b[7] * jnp.cos(2 * pi * x / b[6])
            + b[8] * jnp.sin(2 * pi * x / b[6])
        ),
        "eckerle4": lambda b, x: (b[0] / b[1]) * exp(-0.5 * ((x - b[2]) / b[1]) ** 2),
        "gauss1": gauss,
        "gauss2": gauss,
        "gauss3": gauss,
        "hahn1": rational3,
        "kirby2": lambda b, x: (b[0] + b[1] * x + b[2] * x**2) / (1 + b[3] * x + b[4] * x**2),
        "lanczos1": lanczos,
        "lanczos2": lanczos,
        "lanczos3": lanczos,
        "mgh09": lambda b, x: b[0] * (x**2 + x * b[1]) / (x**2 + x * b[2] + b[3]),
        "mgh10": lambda b, x: b[0] * exp(b[1] / (x + b[2])),
        "mgh17": lambda b, x: b[0] + b[1] * exp(-x * b[3]) + b[2] * exp(-x * b[4]),
        "misra1a": misra1a,
        "misra1b": lambda b, x: b[0] * (1 - (1 + b[1] * x / 2) ** (-2)),
        "misra1c": lambda b, x: b[0] * (1 - (1 + 2 * b[1] * x) ** (-0.5)),
        "misra1d": lambda b, x: b[0] * b[1] * x * ((1 + b[1] * x) ** (-1)),
        "nelson": lambda b, x: b[0] - b[1] * x[:, 0] * exp(-b[2] * x[:, 1]),
        "rat42": lambda b, x: b[0] / (1 + exp(b[1] - b[2] * x)),
        "rat43": lambda b, x: b[0] / ((1 + exp(b[1] - b[2] * x)) ** (1 / b[3])),
        "roszman1": lambda b, x: b[0] - b[1] * x - jnp.arctan(b[2] / (x - b[3])) / pi,
        "thurber": rational3,
    }


def _nist_problem(name: str, record: dict[str, Any], start: int) -> Problem:
    import jax.numpy as jnp
    import numpy as np

    if start not in (1, 2):
        raise ValueError(f"start must be 1 or 2 (NIST's two starting points), got {start}")
    columns = record["columns"]
    y = np.asarray(columns["y"])
    if name == "nelson":
        x, y = np.stack([columns["x1"], columns["x2"]], axis=1), np.log(y)
    else:
        x = np.asarray(columns["x"])
    certified = jnp.asarray(record["certified"], jnp.float64)
    n = len(y)
    model = _models()[name]
    problem = least_squares_problem(
        f"nist_{name}",
        model,
        x,
        y,
        init=np.asarray(record[f"start{start}"]),
        description=f"NIST StRD {name}, start {start}",
        f_opt=record["certified_rss"] / n,
        target_scale=_target_scale(record["certified_rss"] / n, y),
        x_opt=np.asarray(record["certified"]),
        starts={"start1": np.asarray(record["start1"]), "start2": np.asarray(record["start2"])},
    )
    rss_certified = record["certified_rss"]

    def metrics(b: Any) -> dict[str, Any]:
        rss = jnp.sum(problem.residuals(b) ** 2)
        return {"lre": jnp.min(lre(b, certified)), "lre_rss": lre(rss, rss_certified)}

    # Both starts compute the same programs: the start is their only difference.
    return dataclasses.replace(problem, metrics=metrics, program_key=("nist", name))


def _target_scale(f_opt: float, y: Any) -> float:
    """What precision targets are relative to: the certified optimum, whose scale spans 6e-27
    (lanczos1) to 586 (rat43), so that 1e-6 means six correct digits of the loss, as an LRE
    does; where the optimum is below 1e-8 of the observations' variance (lanczos1-3, whose
    certified residuals are the data's rounding), that instead, a fit to 8 digits."""
    import numpy as np

    return max(abs(f_opt), 1e-8 * float(np.var(y)))


def _register(name: str, record: dict[str, Any]) -> None:
    def factory(start: int = 1) -> Problem:
        return _nist_problem(name, record, start)

    factory.__doc__ = f"NIST StRD {name}: {len(record['certified'])} parameters, certified values and RSS."
    register_problem(f"nist_{name}", tags=("nist", "curve_fitting"), limits={"start": (1, 2)})(factory)


for _name, _record in json.loads(_DATA.read_text()).items():
    _register(_name, _record)
