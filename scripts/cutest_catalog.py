"""Make problems/cutest.json: the unconstrained CUTEst problems of sif2jax that load and
run, with their size, recorded optimal value and least-squares twin.

Run again after upgrading sif2jax: python scripts/cutest_catalog.py

A problem is kept when its objective and gradient at the starting point are finite.
``f_opt`` is the problem's recorded optimal value, dropped where it cannot be the
minimum: above the value at the start, at the recorded solution, or at the point
scipy's BFGS finds from the start (problems of at most 100 variables; KOWOSB records
1.02734e-3, a value at infinity, while its minimum is near 3.078e-4). Where the recorded
value is BFGS's rounded to the digits it was written with, ``f_opt`` is BFGS's, the
recorded one kept beside it as ``f_opt_recorded``: a value rounded to a few digits
(JENSMP's 124.362 for 124.3621824) would put targets of 1e-8 out of reach.
A nonlinear-equations problem is the least-squares twin of an unconstrained one when
their sizes agree and the sum of its squared residuals equals the objective (to 1e-10,
relatively) at the start and at two points near it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import optbench  # noqa: F401  (enables float64 before sif2jax builds its arrays)
from optbench.external.cutest import _version, sif_problems

OUT = Path(__file__).resolve().parents[1] / "problems" / "cutest.json"


def main() -> None:
    import jax
    import jax.numpy as jnp

    problems = sif_problems()
    catalog, dropped = [], []
    for name, sif in sorted(problems.items()):
        if not _is(sif, "AbstractUnconstrainedMinimisation"):
            continue
        try:
            y0 = jnp.asarray(sif.y0, jnp.float64)
            f = jax.jit(lambda y, s=sif: s.objective(y, s.args))
            value, grad = float(f(y0)), np.asarray(jax.grad(f)(y0))
        except Exception as err:
            dropped.append(f"{name}: {type(err).__name__}: {str(err)[:80]}")
            continue
        if not (np.isfinite(value) and np.all(np.isfinite(grad))):
            dropped.append(f"{name}: not finite at the start")
            continue
        entry = {"name": name, "n": int(y0.size), "description": _description(sif, name, int(y0.size))}
        entry.update(_optimum(sif, f, value, grad_fn=jax.jit(jax.grad(f)), y0=y0))
        entry.update(_twin(name, sif, f, y0, problems))
        catalog.append(entry)
        print(name, entry["n"], entry.get("f_opt"), entry.get("residuals"), file=sys.stderr)
    document = {"sif2jax": _version(), "problems": catalog, "dropped": dropped}
    OUT.write_text(json.dumps(document, indent=1) + "\n")
    print(f"{len(catalog)} problems kept, {len(dropped)} dropped; written to {OUT}", file=sys.stderr)


def _is(sif, kind: str) -> bool:
    """Whether ``sif`` is a sif2jax problem of ``kind`` (by class name: the classes live in
    ``sif2jax/__init__``'s namespace, whose import takes 42 s)."""
    return any(cls.__name__ == kind for cls in type(sif).__mro__)


def _description(sif, name: str, n: int) -> str:
    doc = (type(sif).__doc__ or "").strip().splitlines()
    first = next((line.strip() for line in doc if line.strip()), "")
    return f"CUTEst {name} ({n} variables): {first}".rstrip(": ")[:120]


def _optimum(sif, f, start_value: float, grad_fn, y0) -> dict:
    import jax.numpy as jnp
    import scipy.optimize

    recorded = sif.expected_objective_value
    if recorded is None:
        return {}
    f_opt = float(recorded)
    if not np.isfinite(f_opt):
        return {}
    tolerance = 1e-6 * (1 + abs(f_opt))
    if f_opt > start_value + tolerance:
        return {"f_opt_dropped": f"recorded {f_opt:.10g} is above the value at the start, {start_value:.10g}"}
    solution = sif.expected_result
    if solution is not None:
        try:
            at_solution = float(f(jnp.asarray(solution, jnp.float64)))
        except Exception:  # a solution of another size
            at_solution = np.nan
        if np.isfinite(at_solution) and at_solution < f_opt - tolerance:
            return {"f_opt_dropped": f"recorded {f_opt:.10g} is above the value at the recorded solution"}
    if y0.size <= 100:
        found = scipy.optimize.minimize(
            lambda y: float(f(y)), np.asarray(y0), jac=lambda y: np.asarray(grad_fn(y)), method="BFGS",
            options={"maxiter": 2000},
        )  # fmt: skip
        if np.isfinite(found.fun) and found.fun != f_opt and _rounds_to(float(found.fun), f_opt):
            # The same minimum, recorded to a few digits (JENSMP: 124.362 for 124.3621824).
            return {"f_opt": float(found.fun), "f_opt_recorded": f_opt}
        if np.isfinite(found.fun) and found.fun < f_opt - tolerance:
            return {"f_opt_dropped": f"recorded {f_opt:.10g} is above {found.fun:.10g}, found by scipy's BFGS"}
    return {"f_opt": f_opt}


def _rounds_to(value: float, recorded: float) -> bool:
    """Whether ``recorded`` is ``value`` rounded to the significant digits it was written
    with, four or more: shorter values (0, -1, 20, -18.2) are exact, not roundings."""
    mantissa = np.format_float_scientific(recorded, unique=True).split("e")[0].replace("-", "").replace(".", "")
    digits = len(mantissa)
    return digits >= 4 and float(f"{value:.{digits - 1}e}") == recorded


def _twin(name: str, sif, f, y0, problems) -> dict:
    import jax
    import jax.numpy as jnp

    base = name[:-2] if name.endswith("LS") else name
    for candidate in dict.fromkeys([name + "NE", base + "NE", base, base + "LS" if base != name else ""]):
        twin = problems.get(candidate)
        if twin is None or candidate == name or not _is(twin, "AbstractNonlinearEquations"):
            continue
        if twin.bounds is not None or np.asarray(twin.y0).size != y0.size:
            continue
        try:
            sum_squares = jax.jit(lambda y, t=twin: jnp.sum(jnp.ravel(t.constraint(y)[0]) ** 2))
            points = [y0, *(y0 + 0.1 * jax.random.normal(jax.random.key(i), y0.shape, jnp.float64) for i in (1, 2))]
            same = all(np.isclose(float(sum_squares(y)), float(f(y)), rtol=1e-10, atol=1e-12) for y in points)
            m = int(np.ravel(twin.constraint(y0)[0]).size)
        except Exception:
            continue
        if same:
            return {"residuals": candidate, "m": m}
    return {}


if __name__ == "__main__":
    main()
