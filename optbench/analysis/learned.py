"""Pictures of what was learned: fitted curves over the data, decision boundaries of 2-D
classifiers, and the final loss against a hyperparameter (learning-rate sensitivity).

A fitted model is drawn from the stored final parameters of one run per configuration,
the run whose final loss is the median over its seeds (the lower middle for an even
count), so the picture shows a typical run, not the luckiest. The problem is rebuilt from
its spec, so its plugins must be loaded; it needs ``Problem.predict``.
"""

from __future__ import annotations

import json
from typing import Any

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from optbench.analysis.selection import ensure_configs
from optbench.analysis.styles import distinct_styles
from optbench.analysis.tick_labels import plain_powers
from optbench.errors import OptbenchError
from optbench.registry import REGISTRY

FAILED = ("skipped", "failed")


def median_runs(runs: pd.DataFrame, problem: str) -> pd.DataFrame:
    """One run per configuration on ``problem``: the one whose final loss is the median over
    its seeds (lower middle), among runs with a finite final loss."""
    runs = ensure_configs(runs)
    mine = runs[(runs["problem"] == problem) & ~runs["status"].isin(FAILED)]
    mine = mine[np.isfinite(mine["fun"].astype(float))]
    if mine.empty:
        raise OptbenchError(f"no finished runs of {problem!r} with a finite final loss to draw")
    picked = []
    for _, group in mine.groupby("config", sort=False):
        ordered = group.sort_values(["fun", "seed"], kind="stable")
        picked.append(ordered.iloc[(len(ordered) - 1) // 2])
    return pd.DataFrame(picked)


def restore_params(problem: Any, stored: Any) -> Any:
    """A run's stored final parameters (JSON, nested like the pytree: dicts by key, lists
    and tuples by position) in the problem's own structure and dtype."""
    if not isinstance(stored, str):
        raise OptbenchError(f"a run of {problem.spec!r} has no stored parameters (runs with very many are not kept)")
    value = json.loads(stored)
    template = problem.init_params(jax.random.key(0))
    leaves, tree = jax.tree_util.tree_flatten_with_path(template)
    arrays = []
    try:
        for path, leaf in leaves:
            found = value
            for entry in path:
                found = found[str(entry.key)] if hasattr(entry, "key") else found[entry.idx]
            arrays.append(np.asarray(found, dtype=problem.dtype).reshape(np.shape(leaf)))
    except (KeyError, IndexError, TypeError, ValueError, AttributeError):
        raise OptbenchError(
            f"the stored parameters do not fit {problem.spec!r}: was it changed since the run?"
        ) from None
    return jax.tree_util.tree_unflatten(tree, arrays)


def _problem(spec: str, needs: str) -> Any:
    try:
        problem = REGISTRY.problem(spec)
    except OptbenchError as err:
        raise OptbenchError(f"cannot rebuild {spec!r} to draw it: {err} (load its plugins with --plugins)") from None
    if problem.predict is None or problem.data is None:
        raise OptbenchError(f"{spec!r} has no model to draw: {needs}")
    return problem


def fit_figure(runs: pd.DataFrame, problem: str) -> Any:
    """A curve-fitting problem's data with the model fitted by each configuration (its
    median-loss seed), one curve each, and the known optimum's curve where there is one."""
    fits = median_runs(runs, problem)
    prob = _problem(problem, "fit plots draw a curve fit's predict(params, x) over its 1-D data")
    x, y = (np.asarray(a, dtype=float) for a in prob.data)
    if x.ndim != 1:
        raise OptbenchError(f"{problem!r} has {x.shape[1]} inputs; fit plots draw curves of one input")
    grid = np.linspace(x.min(), x.max(), 400)
    fig, ax = plt.subplots(figsize=(7.5, 4.8), layout="constrained")
    ax.plot(x, y, ".", color="0.55", markersize=4, label=f"data (n={x.size})")
    if prob.x_opt is not None:
        ax.plot(grid, _predict(prob, prob.x_opt, grid), color="black", lw=3, alpha=0.25, label="least-squares optimum")
    styles = distinct_styles(list(fits["config"]))
    for run in fits.itertuples():
        style = {k: v for k, v in styles[run.config].items() if k in ("color", "linestyle")}
        curve = _predict(prob, restore_params(prob, run.x), grid)
        ax.plot(grid, curve, label=f"{run.config} (seed {run.seed}, loss {run.fun:.3g})", **style)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(f"{problem}: fitted models (median-loss seed of each)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small" if len(fits) <= 8 else "x-small")
    return fig


def _predict(problem: Any, params: Any, x: np.ndarray) -> np.ndarray:
    params = jax.tree_util.tree_map(lambda a: jnp.asarray(a, problem.dtype), params)
    return np.asarray(problem.predict(params, jnp.asarray(x, problem.dtype)), dtype=float)


def boundary_figure(runs: pd.DataFrame, traces: pd.DataFrame | None, problem: str) -> Any:
    """A 2-D binary classification problem's training points with the decision boundary
    (logit 0) and the predicted probability learned by each configuration (its
    median-loss seed), one panel each; a panel's title gives the run's test accuracy
    where it was recorded."""
    fits = median_runs(runs, problem)
    prob = _problem(problem, "boundary plots draw a 2-D classifier's predict(params, x)")
    features, labels = (np.asarray(a, dtype=float) for a in prob.data)
    if features.ndim != 2 or features.shape[1] != 2:
        inputs = "one input" if features.ndim == 1 else f"{features.shape[1]} inputs"
        raise OptbenchError(f"{problem!r} has {inputs}; boundary plots draw classifiers of two inputs")
    low, high = features.min(axis=0), features.max(axis=0)
    pad = 0.1 * (high - low)
    g1, g2 = np.meshgrid(
        np.linspace(low[0] - pad[0], high[0] + pad[0], 200), np.linspace(low[1] - pad[1], high[1] + pad[1], 200)
    )
    points = np.stack([g1.ravel(), g2.ravel()], axis=1)
    accuracy = _final_metric(traces, "test_accuracy")
    n = len(fits)
    ncols = min(n, 3)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(4.2 * ncols, 3.9 * nrows), layout="constrained", squeeze=False, sharex=True, sharey=True
    )
    image = None
    for ax, run in zip(axes.flat, fits.itertuples()):
        logits = _predict(prob, restore_params(prob, run.x), points)
        if logits.ndim != 1:
            raise OptbenchError(f"{problem!r} has {logits.shape[1]} classes; boundary plots draw binary classifiers")
        probability = 1.0 / (1.0 + np.exp(-np.clip(logits, -60, 60)))
        image = ax.contourf(
            g1, g2, probability.reshape(g1.shape), levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.55
        )
        ax.contour(g1, g2, logits.reshape(g1.shape), levels=[0.0], colors="black", linewidths=1.5)
        for label, marker in ((0.0, "o"), (1.0, "^")):
            where = labels == label
            color = "#2166ac" if label == 0 else "#b2182b"
            ax.scatter(
                features[where, 0], features[where, 1], s=12, marker=marker, c=color, edgecolors="white", linewidths=0.4
            )
        score = accuracy.get(run.run_id)
        ax.set_title(f"{run.config}" + ("" if score is None else f"\ntest accuracy {score:.2f}"), fontsize="small")
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    fig.supxlabel("feature 1 (standardized)", fontsize="medium")
    fig.supylabel("feature 2 (standardized)", fontsize="medium")
    fig.suptitle(f"{problem}: decision boundaries (black) and P(class 1), median-loss seed of each")
    if image is not None:
        fig.colorbar(image, ax=axes, shrink=0.8, label="predicted P(class 1)")
    return fig


def _final_metric(traces: pd.DataFrame | None, metric: str) -> dict[str, float]:
    """Each run's last recorded value of ``metric``."""
    if traces is None or traces.empty or metric not in traces:
        return {}
    measured = traces[["run_id", metric]].dropna()
    return measured.groupby("run_id", sort=False)[metric].last().to_dict()


def sensitivity_figure(
    runs: pd.DataFrame, traces: pd.DataFrame | None, problem: str, hue: str = "learning_rate"
) -> Any:
    """The final distance to the optimum, ``loss - f_opt`` where the optimum is known (else
    the final loss), and test accuracy where recorded, against the value of the
    hyperparameter ``hue``, one line per optimizer: medians over seeds with the quartiles
    as error bars, over the runs that did not diverge. Values where a run diverged are
    marked with a cross at the top of the plot: the standard learning-rate sensitivity
    picture. The distance shows a rate too small to get there, where the final loss of a
    noisy fit hides it under the noise floor."""
    mine = runs[(runs["problem"] == problem) & ~runs["status"].isin(FAILED)].copy()
    values = [json.loads(p).get(hue) for p in mine["params"]]
    mine["value"] = [float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else np.nan for v in values]
    mine = mine[mine["value"].notna()]
    if mine.empty:
        raise OptbenchError(f"no finished run of {problem!r} has a numeric hyperparameter {hue!r}; run a grid of it")
    f_opt = mine["f_opt"].astype(float)
    known = bool(f_opt.notna().all())
    if known:  # below rounding error the distance is noise: floored for the log axis, as convergence plots do
        floor = np.finfo(float).eps * np.maximum(np.abs(f_opt), 1e-300)
        mine["fun"] = np.maximum(mine["fun"].astype(float) - f_opt, floor)
    accuracy = _final_metric(traces, "test_accuracy")
    mine["test_accuracy"] = [accuracy.get(r, np.nan) for r in mine["run_id"]]
    panels = ["fun"] + (["test_accuracy"] if mine["test_accuracy"].notna().any() else [])
    fig, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 4.6), layout="constrained", squeeze=False)
    styles = distinct_styles(list(dict.fromkeys(mine["optimizer_name"])))
    diverged = (mine["status"] == "diverged") | ~np.isfinite(mine["fun"].astype(float))
    finite = mine.loc[~diverged, "fun"].astype(float)
    top = finite.max() * 10 if len(finite) and (finite > 0).all() else None
    for ax, column in zip(axes[0], panels):
        for name, group in mine.groupby("optimizer_name", sort=False):
            style = {k: v for k, v in styles[name].items() if k in ("color", "linestyle")}
            # A diverged run has no final loss worth a median: it is a cross on the top edge.
            table = _quartiles(group[~diverged[group.index]], column)
            ax.errorbar(
                table.index, table["median"], yerr=[table["median"] - table["low"], table["high"] - table["median"]],
                marker="o", capsize=3, label=name, **style,
            )  # fmt: skip
            lost = sorted(set(group.loc[diverged[group.index], "value"]))
            if column == "fun" and lost and top is not None:
                ax.plot(lost, [top] * len(lost), "x", color=style["color"], ms=9, mew=2, label=f"_diverged {name}")
        ax.set_xscale("log" if (mine["value"] > 0).all() else "linear")
        if column == "fun" and len(finite) and (finite > 0).all():
            ax.set_yscale("log")
        ax.set_xlabel(hue)
        ax.set_ylabel(
            ("final loss - optimum" if known else "final loss") if column == "fun" else "test accuracy (final)"
        )
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize="small")
    note = " (x: diverged)" if (mine["status"] == "diverged").any() else ""
    fig.suptitle(f"{problem}: sensitivity to {hue}, medians and quartiles over seeds{note}")
    return plain_powers(fig)


def _quartiles(group: pd.DataFrame, column: str) -> pd.DataFrame:
    values = group[["value", column]].astype(float)
    values = values[np.isfinite(values[column])]
    by = values.groupby("value")[column]
    return pd.DataFrame({"median": by.median(), "low": by.quantile(0.25), "high": by.quantile(0.75)}).sort_index()


def population_figure(
    history: pd.DataFrame, generations: Any = None, x: str = "x0", y: str = "x1", best: Any = None
) -> Any:
    """Where a population stood at a few generations (``optbench.population_history``):
    one panel per generation, individuals coloured by their loss (or first objective),
    in the plane of the parameters ``x`` and ``y``; ``best``, a point (x, y) such as the
    known optimum, is marked in every panel."""
    available = sorted(set(history["generation"]))
    if generations is None:
        last = available[-1]
        generations = sorted({0, last // 8, last // 3, last})
    missing = [g for g in generations if g not in available]
    if missing or x not in history or y not in history:
        raise OptbenchError(f"the history has generations {available[0]}..{available[-1]} and columns "
                            f"{', '.join(c for c in history.columns if c.startswith('x'))}")  # fmt: skip
    score = "f" if "f" in history else "f1"
    fig, axes = plt.subplots(1, len(generations), figsize=(3.6 * len(generations), 3.6), layout="constrained",
                             sharex=True, sharey=True, squeeze=False)  # fmt: skip
    values = history[score].to_numpy(dtype=float)
    low, high = np.nanmin(values), np.nanmax(values)
    norm = plt.matplotlib.colors.LogNorm(low, high) if low > 0 else plt.matplotlib.colors.Normalize(low, high)
    dots = None
    for ax, generation in zip(axes[0], generations):
        at = history[history["generation"] == generation]
        dots = ax.scatter(at[x], at[y], c=at[score], norm=norm, cmap="viridis_r", s=14)
        if best is not None:
            ax.plot(*best, marker="*", color="red", markersize=14, markeredgecolor="white")
        ax.set_title(f"generation {generation}", fontsize="small")
        ax.set_xlabel(x)
        ax.grid(True, alpha=0.3)
    axes[0][0].set_ylabel(y)
    fig.colorbar(dots, ax=axes, shrink=0.85, label="loss" if score == "f" else "objective 1")
    return fig
