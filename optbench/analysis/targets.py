"""Targets and hitting times: where each run first reached each target, on any cost axis.

Two kinds of target (Hansen et al., "COCO: performance assessment", 2021; Moré and Wild,
"Benchmarking derivative-free optimization algorithms", SIAM J. Optim. 20(1), 2009):

- ``precision``, where the optimum is known: ``f - f_opt <= delta`` for COCO's grid
  ``delta = 10**k``, k = 2, 1.8, ..., -8 (``PRECISIONS``); ``f - f_opt <= delta * s`` for a
  problem with a ``target_scale`` s (relative targets: NIST's, whose optima span 6e-27 to 586).
- ``tau``, where it is not: Moré and Wild's convergence test
  ``f(x0) - f(x) >= (1 - tau) * (f(x0) - f_L)``, with ``f(x0)`` the run's starting loss and
  ``f_L`` the best loss any run of the comparison found on the problem.

A hitting time is the first cost (evaluations, gradient evaluations, steps, epochs or
seconds) at which the run's best loss so far is at or below the target. It is exact for
precision targets, whose first crossings every trace keeps, and for runs of at most 500
recorded steps. A longer run's trace is thinned, and a tau target's hitting time is then
the cost at the first kept row at or after the crossing. For a native run
(``optbench.drive.trace.StreamedTrace``) that is at most ``2 n / 250`` rows late for a run of n
rows, and, from a crossing at row j, at most ``(j + 1) * (10**(1/60) - 1) + 1`` rows late
(3.9% of j); for a library run (``optbench.drive.trace.thin_index``), at most ``(n - 1) / 249 + 1``
and ``(j + 1) * (n**(1/249) - 1) + 1`` rows late (3.5% of j at n = 5,000).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from optbench.analysis.selection import ensure_configs
from optbench.drive.trace import PRECISIONS, first_reached
from optbench.errors import OptbenchError

COST_AXES = {"evals": "nfev", "grads": "njev", "steps": "step", "epochs": "epochs", "time": "time_s"}
COST_LABELS = {
    "evals": "function evaluations",
    "grads": "gradient evaluations",
    "steps": "steps",
    "epochs": "epochs (passes over the training data)",
    "time": "time (s)",
}
TAUS = (1e-1, 1e-3, 1e-5, 1e-7)
KINDS = ("auto", "precision", "tau")


def cost_column(cost: str) -> str:
    """The trace column of a cost axis name (``evals``, ``grads``, ``steps``, ``epochs``, ``time``)."""
    if cost not in COST_AXES:
        raise OptbenchError(f"unknown cost axis {cost!r}; choose one of {', '.join(COST_AXES)}")
    return COST_AXES[cost]


def finished(runs: pd.DataFrame, traces: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The runs that have a trace (skipped and failed runs have none), and their traces."""
    traced_ids = traces["run_id"].unique()  # membership tests against the unique ids: fast
    traced = runs[runs["run_id"].isin(traced_ids)]
    mine = traces if len(traced) == len(traced_ids) else traces[traces["run_id"].isin(traced["run_id"])]
    if not mine["run_id"].is_monotonic_increasing:  # each run's rows together, in trace order
        mine = mine.sort_values("run_id", kind="stable")
    return ensure_configs(traced), mine


def run_slices(traces: pd.DataFrame) -> dict[str, slice]:
    """Where each run's rows lie in ``traces``, whose rows are grouped by run (as
    ``finished`` returns them)."""
    ids = traces["run_id"].to_numpy()
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]]) if len(ids) else np.zeros(0, int)
    ends = np.r_[starts[1:], len(ids)]
    return {ids[s]: slice(s, e) for s, e in zip(starts, ends)}


def targets(
    runs: pd.DataFrame,
    traces: pd.DataFrame,
    kind: str = "auto",
    precisions: Sequence[float] = tuple(PRECISIONS),
    taus: Sequence[float] = TAUS,
) -> pd.DataFrame:
    """One row per (run, target): ``run_id``, ``kind``, ``level`` (delta or tau) and
    ``target``, the loss to reach.

    ``kind="auto"`` takes precision targets where the problem's optimum is known and tau
    targets elsewhere; ``"precision"`` needs every optimum known; ``"tau"`` uses the known
    optimum as ``f_L`` where there is one."""
    if kind not in KINDS:
        raise OptbenchError(f"unknown target kind {kind!r}; choose one of {', '.join(KINDS)}")
    runs, traces = finished(runs, traces)
    first = traces.groupby("run_id", sort=False)["loss"].first()
    best = traces.groupby("run_id", sort=False)["best_loss"].min()
    table = runs[["run_id", "problem", "f_opt"]].assign(
        f0=runs["run_id"].map(first), best=runs["run_id"].map(best), scale=relative_scale(runs)
    )
    table["f_L"] = table["f_opt"].fillna(table.groupby("problem")["best"].transform("min"))
    known = table["f_opt"].notna()
    if kind == "precision" and not known.all():
        unknown = sorted(set(table.loc[~known, "problem"]))
        raise OptbenchError(
            f"precision targets need a known optimum, and {', '.join(unknown)} has none; use --targets auto "
            "(More-Wild's test against the best loss found, where the optimum is unknown) or --targets tau"
        )
    use_precision = known if kind == "auto" else pd.Series(kind == "precision", index=table.index)
    parts = []
    if use_precision.any():
        mine = table[use_precision]
        levels = np.asarray(precisions, dtype=float)
        scale = mine["scale"].to_numpy()[:, None]
        parts.append(_cross(mine, "precision", levels, mine["f_opt"].to_numpy()[:, None] + levels[None, :] * scale))
    if (~use_precision).any():
        mine = table[~use_precision]
        levels = np.asarray(taus, dtype=float)
        f0, f_l = mine["f0"].to_numpy()[:, None], mine["f_L"].to_numpy()[:, None]
        parts.append(_cross(mine, "tau", levels, f_l + levels[None, :] * (f0 - f_l)))
    if not parts:
        return pd.DataFrame(columns=["run_id", "kind", "level", "target"])
    return pd.concat(parts, ignore_index=True)


def hitting_times(
    runs: pd.DataFrame,
    traces: pd.DataFrame,
    cost: str = "evals",
    target_table: pd.DataFrame | None = None,
    kind: str = "auto",
) -> pd.DataFrame:
    """One row per (run, target): the run's ``problem``, ``config`` and ``seed``, the
    target (``kind``, ``level``, ``target``), ``hit`` (reached or not), ``cost`` (the
    hitting time on the ``cost`` axis; NaN where not reached) and ``spent`` (the run's
    whole cost on that axis, what a run that never reaches the target pays).

    ``target_table`` defaults to ``targets(runs, traces, kind)``."""
    column = cost_column(cost)
    runs, traces = finished(runs, traces)
    if target_table is None:
        target_table = targets(runs, traces, kind)
    target_table = target_table[target_table["run_id"].isin(runs["run_id"])]
    best = traces["best_loss"].to_numpy(dtype=float)
    costs = traces[column].to_numpy(dtype=float)
    where = run_slices(traces)
    levels = target_table["target"].to_numpy(dtype=float)
    hit_cost = np.full(len(target_table), np.nan)
    spent = np.full(len(target_table), np.nan)
    for run_id, rows in target_table.groupby("run_id", sort=False).indices.items():
        run_best, run_costs = best[where[run_id]], costs[where[run_id]]
        first = first_reached(run_best, levels[rows])
        reached = first < len(run_best)
        hit_cost[rows[reached]] = run_costs[first[reached]]
        spent[rows] = np.nanmax(run_costs)
    info = runs.set_index("run_id")[["problem", "config", "seed"]]
    out = target_table.join(info, on="run_id")
    out["hit"] = ~np.isnan(hit_cost)
    out["cost"] = hit_cost
    out["spent"] = spent
    return out[["run_id", "problem", "config", "seed", "kind", "level", "target", "hit", "cost", "spent"]]


def relative_scale(runs: pd.DataFrame) -> pd.Series:
    """Per run, what its problem's precision targets are relative to: its ``target_scale``,
    else 1 (absolute targets; also for runs stored before optbench recorded the scale)."""
    if "target_scale" not in runs:
        return pd.Series(1.0, index=runs.index)
    return runs["target_scale"].astype(float).fillna(1.0)


def relative_problems(runs: pd.DataFrame) -> list[str]:
    """The problems whose precision targets are relative (a target scale other than 1)."""
    relative = runs["f_opt"].notna() & (relative_scale(runs) != 1.0)
    return sorted(set(runs.loc[relative, "problem"]))


def level_label(kind: str, level: float) -> str:
    """A target in words: ``f-f_opt<=1e-06`` or ``tau=1e-03``."""
    exponent = math.log10(level)
    number = f"1e{round(exponent):+03d}" if abs(exponent - round(exponent)) < 1e-9 else f"{level:.2g}"
    return f"f-f_opt<={number}" if kind == "precision" else f"tau={number}"


def _cross(table: pd.DataFrame, kind: str, levels: np.ndarray, values: np.ndarray) -> pd.DataFrame:
    n, k = values.shape
    return pd.DataFrame(
        {
            "run_id": np.repeat(table["run_id"].to_numpy(), k),
            "kind": kind,
            "level": np.tile(levels, n),
            "target": values.ravel(),
        }
    )
