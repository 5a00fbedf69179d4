"""Performance and data profiles: how often each solver is within a factor of the best,
or solves a problem within a budget of simplex gradients.

Each takes ``costs``: a DataFrame with one row per solver and one column per problem, the
cost to solve it (NaN or inf where the solver did not solve it). Every column counts in
the denominator, including problems no solver solved.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from optbench.errors import OptbenchError


def performance_ratios(costs: pd.DataFrame) -> pd.DataFrame:
    """``r_ps = t_ps / min_s t_ps``; infinite where solver s did not solve problem p, and
    1 for the best solvers of a problem even where the best cost is 0 (solved at the start)."""
    values = _as_costs(costs)
    best = values.min(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratios = values / best
    ratios = ratios.where(np.isfinite(ratios), np.inf)
    return ratios.mask(values.eq(best, axis=1) & np.isfinite(values), 1.0)


def performance_profile(costs: pd.DataFrame, taus: Sequence[float]) -> pd.DataFrame:
    """Dolan-Moré performance profiles: ``rho_s(tau) = |{p : r_ps <= tau}| / |P|``.

    Returns one row per solver and one column per tau.

    Reference: Dolan and Moré, "Benchmarking optimization software with performance
    profiles", Math. Program. 91, 2002, section 2.
    """
    ratios = performance_ratios(costs).to_numpy()
    taus = np.asarray(taus, dtype=float)
    rho = (ratios[:, :, None] <= taus[None, None, :]).mean(axis=1)
    return pd.DataFrame(rho, index=costs.index, columns=taus)


def profile_score(costs: pd.DataFrame, tau_max: float = 4.0, points: int = 100) -> pd.Series:
    """AlgoPerf's benchmark score: the area under the performance profile over ``points``
    evenly spaced tau in ``[1, tau_max]`` (trapezoid rule), divided by ``tau_max - 1``.
    Ratios above ``tau_max`` count as failures. 1 means fastest on every problem.

    Reference: Dahl et al., "Benchmarking neural network training algorithms",
    arXiv:2306.07179, 2023, section 4.5 (performance profiles and scores).
    """
    if tau_max <= 1:
        raise OptbenchError(f"tau_max must be above 1, got {tau_max}")
    taus = np.linspace(1.0, tau_max, points)
    rho = performance_profile(costs, taus).to_numpy()
    return pd.Series(np.trapezoid(rho, taus, axis=1) / (tau_max - 1.0), index=costs.index, name="score")


def data_profile(costs: pd.DataFrame, n_params: pd.Series | Sequence[int], alphas: Sequence[float]) -> pd.DataFrame:
    """Moré-Wild data profiles: ``d_s(alpha) = |{p : t_ps / (n_p + 1) <= alpha}| / |P|``,
    the share of problems solved within ``alpha`` simplex gradients (``n_p + 1``
    evaluations for a problem with ``n_p`` parameters).

    ``n_params`` gives ``n_p`` per column of ``costs``. Returns one row per solver and one
    column per alpha.

    Reference: Moré and Wild, "Benchmarking derivative-free optimization algorithms",
    SIAM J. Optim. 20(1), 2009, section 2.
    """
    values = _as_costs(costs).to_numpy()
    n = np.asarray(n_params.reindex(costs.columns) if isinstance(n_params, pd.Series) else n_params, dtype=float)
    if n.shape != (values.shape[1],) or np.isnan(n).any():
        raise OptbenchError("data_profile needs the number of parameters of every problem")
    scaled = values / (n[None, :] + 1.0)
    alphas = np.asarray(alphas, dtype=float)
    share = (scaled[:, :, None] <= alphas[None, None, :]).mean(axis=1)
    return pd.DataFrame(share, index=costs.index, columns=alphas)


def instance_costs(hits: pd.DataFrame, level: float, kind: str | None = None) -> pd.DataFrame:
    """From ``hitting_times`` to a ``costs`` table at one target level: one row per
    config, one column per problem instance, a (problem, seed) pair, which every
    optimizer starts from the same point. inf where a run did not reach the target;
    NaN where a config has no run on the instance (both count as not solved)."""
    mine = hits[np.isclose(hits["level"], level, rtol=1e-9, atol=0.0)]
    if kind is not None:
        mine = mine[mine["kind"] == kind]
    if mine.empty:
        raise OptbenchError(f"no runs were measured at target level {level:g}")
    cost = mine["cost"].where(mine["hit"], np.inf)
    table = mine.assign(cost=cost).pivot_table(
        index="config", columns=["problem", "seed"], values="cost", aggfunc="first", sort=False
    )
    return table


def _as_costs(costs: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(costs, pd.DataFrame) or costs.empty:
        raise OptbenchError("costs must be a non-empty DataFrame: one row per solver, one column per problem")
    values = costs.astype(float)
    if (values < 0).to_numpy().any():
        raise OptbenchError("costs must not be negative")
    return values.where(values.notna(), np.inf)
