"""Multi-objective problems for Pareto search: two objectives, both minimized.

``zdt1``-``zdt3`` are the standard test problems of Zitzler, Deb & Thiele, "Comparison of
multiobjective evolutionary algorithms: empirical results" (2000), 30 variables in [0, 1],
with their analytic fronts. ``ridge_front`` trades a curve fit's error against the size
of its coefficients; its exact front is the ridge-regression path. ``mlp_tradeoff``
trades the digits network's training loss against its weight size (no known front).

Hypervolume is measured against each problem's ``reference_point`` (documented per
problem); ``f_opt`` is minus the hypervolume of the true front where it is known, so a
Pareto run's loss (minus its hypervolume) converges to it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from optbench import Problem, register_problem
from optbench.registry import REGISTRY

ZDT_REFERENCE = (1.1, 1.1)

ZDT = {"n": (2, 100_000)}  # variables; checked when a spec is read


def _zdt(name: str, n: int, shape: Any, front_f2: Any, description: str, disconnected: bool = False) -> Problem:
    """A ZDT problem: f1 = x1, g = 1 + 9 mean(x2..xn), f2 = g h(f1, g) for ``shape`` h."""
    import jax.numpy as jnp

    if n < 2:
        raise ValueError(f"n must be at least 2, got {n}")

    def objectives(x: Any) -> Any:
        f1 = x[0]
        g = 1.0 + 9.0 * jnp.mean(x[1:])
        return jnp.stack([f1, g * shape(f1, g)])

    def pareto_front(points: int) -> np.ndarray:
        if not disconnected:
            f1 = np.linspace(0.0, 1.0, points)
            return np.stack([f1, front_f2(f1)], axis=1)
        f1 = np.linspace(0.0, 1.0, 200 * points)  # dense, then only the non-dominated pieces
        f2 = front_f2(f1)
        kept = f2 < np.minimum.accumulate(np.concatenate([[np.inf], f2[:-1]]))
        pieces = np.stack([f1[kept], f2[kept]], axis=1)
        return pieces[np.linspace(0, len(pieces) - 1, points).round().astype(int)]

    from optbench.fronts import hypervolume_2d

    front = pareto_front(100_000)
    return Problem(
        name=name,
        objectives=objectives,
        init=np.full(n, 0.5),
        bounds=(np.zeros(n), np.ones(n)),
        reference_point=ZDT_REFERENCE,
        pareto_front=pareto_front,
        f_opt=-float(hypervolume_2d(front, ZDT_REFERENCE)),
        description=description,
        dtype="float64",
    )


@register_problem("zdt1", tags=("pareto",), limits=ZDT)
def zdt1(n: int = 30) -> Problem:
    """ZDT1: convex front f2 = 1 - sqrt(f1); hypervolume at (1.1, 1.1) is 0.8767."""
    import jax.numpy as jnp

    return _zdt("zdt1", n, lambda f1, g: 1.0 - jnp.sqrt(f1 / g), lambda f1: 1.0 - np.sqrt(f1), "ZDT1, convex front")


@register_problem("zdt2", tags=("pareto",), limits=ZDT)
def zdt2(n: int = 30) -> Problem:
    """ZDT2: concave front f2 = 1 - f1**2; hypervolume at (1.1, 1.1) is 0.5433."""
    return _zdt("zdt2", n, lambda f1, g: 1.0 - (f1 / g) ** 2, lambda f1: 1.0 - f1**2, "ZDT2, concave front")


@register_problem("zdt3", tags=("pareto",), limits=ZDT)
def zdt3(n: int = 30) -> Problem:
    """ZDT3: a front in five disconnected pieces of f2 = 1 - sqrt(f1) - f1 sin(10 pi f1)."""
    import jax.numpy as jnp

    return _zdt(
        "zdt3",
        n,
        lambda f1, g: 1.0 - jnp.sqrt(f1 / g) - (f1 / g) * jnp.sin(10 * jnp.pi * f1),
        lambda f1: 1.0 - np.sqrt(f1) - f1 * np.sin(10 * np.pi * f1),
        "ZDT3, disconnected front",
        disconnected=True,
    )


def ridge_path(features: np.ndarray, y: np.ndarray, lambdas: np.ndarray) -> np.ndarray:
    """Ridge coefficients (one row per lambda): argmin_w mean((Xw - y)**2) + lambda |w|**2,
    in closed form through the eigendecomposition of X'X / n."""
    n = len(y)
    eigenvalues, vectors = np.linalg.eigh(features.T @ features / n)
    projected = vectors.T @ (features.T @ y / n)
    return (projected[None, :] / (eigenvalues[None, :] + lambdas[:, None])) @ vectors.T


@register_problem("ridge_front", tags=("pareto", "curve_fitting"), limits={"n": (2, 1_000_000), "noise": (0.0, None)})
def ridge_front(data: str = "quadratic", n: int = 100, noise: float = 0.5, seed: int = 0) -> Problem:
    """A curve fit's error against its coefficients' size; the exact front is the ridge path.

    The coefficients of ``data`` (``quadratic``: a, b, c; ``linear``: m, b) are fitted to
    that problem's samples. The objectives are scaled so the front runs from (0, 1), the
    least-squares fit, to (1, 0), all coefficients zero: f1 = (MSE - MSE_ls) / (MSE_0 -
    MSE_ls) and f2 = |w|^2 / |w_ls|^2. Scaling each objective does not change which points
    are Pareto-optimal, and it makes IGD comparable between data sets. Every point of the
    front minimizes MSE + lambda |w|^2 for some lambda >= 0 (both objectives are convex),
    so the ridge path, in closed form, is the front. Reference point (1.1, 1.1); box:
    each coefficient within twice the largest least-squares coefficient.
    """
    import jax.numpy as jnp

    designs = {
        "quadratic": lambda x: np.stack([x**2, x, np.ones_like(x)], 1),
        "linear": lambda x: np.stack([x, np.ones_like(x)], 1),
    }
    if data not in designs:
        raise ValueError(f"data must be one of {', '.join(designs)}, got {data!r}")
    x, y = (np.asarray(a, np.float64) for a in REGISTRY.problem(f"{data}[n={n},noise={noise},seed={seed}]").data)
    features = designs[data](x)
    w_ls = ridge_path(features, y, np.zeros(1))[0]
    mse_ls, mse_0, norm_ls = np.mean((features @ w_ls - y) ** 2), np.mean(y**2), w_ls @ w_ls
    scale = np.array([mse_0 - mse_ls, norm_ls])
    shift = np.array([mse_ls, 0.0])
    big = 2.0 * np.max(np.abs(w_ls))
    x_j, y_j = jnp.asarray(features), jnp.asarray(y)

    def objectives(w: Any) -> Any:
        mse = jnp.mean((x_j @ w - y_j) ** 2)
        return (jnp.stack([mse, w @ w]) - shift) / scale

    def scaled(w: np.ndarray) -> np.ndarray:
        mse = np.mean((w @ features.T - y[None, :]) ** 2, axis=1)
        return (np.stack([mse, np.sum(w**2, axis=1)], axis=1) - shift) / scale

    def pareto_front(points: int) -> np.ndarray:
        # A dense path (lambda = s tan(pi t / 2) for t in [0, 1)), then points evenly spaced along it.
        t = np.linspace(0.0, 1.0, 200_001)[:-1]
        s = np.trace(features.T @ features) / len(y) / features.shape[1]
        path = np.vstack([scaled(ridge_path(features, y, s * np.tan(0.5 * np.pi * t))), [[1.0, 0.0]]])
        length = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(path, axis=0), axis=1))])
        at = np.linspace(0.0, length[-1], points)
        return np.stack([np.interp(at, length, path[:, 0]), np.interp(at, length, path[:, 1])], axis=1)

    from optbench.fronts import hypervolume_2d

    return Problem(
        name="ridge_front",
        objectives=objectives,
        init=np.zeros(features.shape[1]),
        search_box=(np.full(features.shape[1], -big), np.full(features.shape[1], big)),
        reference_point=(1.1, 1.1),
        pareto_front=pareto_front,
        f_opt=-float(hypervolume_2d(pareto_front(100_000), (1.1, 1.1))),
        description=f"{data} fit: scaled MSE against scaled |w|^2, front = ridge path",
        dtype="float64",
    )


@register_problem("mlp_tradeoff", tags=("pareto", "classification"))
def mlp_tradeoff(hidden: str = "16", activation: str = "tanh", seed: int = 0) -> Problem:
    """The digits network's training cross-entropy against its mean squared weight.

    A small network (64-16-10, 1,210 weights, by default) so a population of them trains
    in seconds. The box is [-1, 1] for every weight; the reference point is (3.0, 0.5):
    worse than guessing among ten classes (ln 10 = 2.3) and larger than the mean square of
    weights drawn from the box (1/3). There is no known front: runs are scored by
    hypervolume.
    """
    import jax
    import jax.numpy as jnp

    base = REGISTRY.problem(f"mlp[hidden={hidden},activation={activation},seed={seed}]")
    shapes = jax.eval_shape(base.init_params, jax.random.PRNGKey(0))
    ones = jax.tree_util.tree_map(lambda s: np.ones(s.shape), shapes)

    def objectives(params: Any) -> Any:
        leaves = jax.tree_util.tree_leaves(params)
        mean_square = sum(jnp.sum(a**2) for a in leaves) / sum(a.size for a in leaves)
        return jnp.stack([base.value(params), mean_square])

    return Problem(
        name="mlp_tradeoff",
        objectives=objectives,
        init=base.init,
        data=None,
        search_box=(jax.tree_util.tree_map(lambda a: -a, ones), ones),
        reference_point=(3.0, 0.5),
        description=f"digits MLP {base.description.split(' ')[2]}: training loss against mean squared weight",
        dtype="float32",
    )
