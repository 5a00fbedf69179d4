"""Curve fitting on seeded synthetic data: linear, quadratic and two sinusoids.

JAX is imported inside the factories so that listing problems stays cheap to start.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from optbench import Problem, least_squares_problem, register_problem

PI = float(np.pi)
# Checked when a spec is read: a million samples is plenty, and n=10**12 would exhaust memory.
LIMITS = {"n": (2, 1_000_000), "noise": (0.0, None)}


def _samples(seed: int, n: int, low: float, high: float, curve: Callable, noise: float) -> tuple[np.ndarray, ...]:
    if n < 2:
        raise ValueError(f"n must be at least 2, got {n}")
    if noise < 0:
        raise ValueError(f"noise must be non-negative, got {noise}")
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(low, high, n))
    return x, curve(x) + noise * rng.standard_normal(n)


def _linear_optimum(features: np.ndarray, y: np.ndarray, names: tuple[str, ...]) -> tuple[dict, float]:
    """The exact least-squares solution of a linear model and its mean squared residual."""
    coef, *_ = np.linalg.lstsq(features, y, rcond=None)
    return dict(zip(names, coef.tolist())), float(np.mean((features @ coef - y) ** 2))


def _uniform_start(low: dict[str, float], high: dict[str, float]) -> Callable[[Any], dict]:
    """A start drawn uniformly from a box, one draw per seed."""

    def init(key: Any) -> dict:
        import jax

        keys = jax.random.split(key, len(low))
        return {k: jax.random.uniform(kk, (), minval=low[k], maxval=high[k]) for k, kk in zip(low, keys)}

    return init


def _polish(problem: Problem, start: dict[str, float], iterations: int = 100) -> tuple[dict, float]:
    """Gauss-Newton from a point near the optimum to full float64 precision."""
    import jax
    import jax.numpy as jnp
    from jax.flatten_util import ravel_pytree

    flat, unravel = ravel_pytree({k: jnp.asarray(v, jnp.float64) for k, v in start.items()})
    residuals = jax.jit(lambda v: problem.residuals(unravel(v)))
    jacobian = jax.jit(jax.jacfwd(lambda v: problem.residuals(unravel(v))))
    for _ in range(iterations):
        step, *_ = np.linalg.lstsq(np.asarray(jacobian(flat)), -np.asarray(residuals(flat)), rcond=None)
        flat = flat + step
        if np.max(np.abs(step)) <= 1e-15 * (1 + np.max(np.abs(flat))):
            break
    x_opt = {k: float(v) for k, v in unravel(flat).items()}
    return x_opt, float(problem.value(unravel(flat)))


@register_problem("linear", tags=("smoke", "curve_fitting"), limits=LIMITS)
def linear(n: int = 100, noise: float = 0.5, seed: int = 0) -> Problem:
    """Fit y = m*x + b to noisy samples; the optimum is the exact least-squares line."""
    x, y = _samples(seed, n, -1.0, 1.0, lambda x: 2.0 * x - 1.0, noise)
    x_opt, f_opt = _linear_optimum(np.stack([x, np.ones_like(x)], 1), y, ("m", "b"))
    return least_squares_problem(
        "linear",
        lambda p, x: p["m"] * x + p["b"],
        x,
        y,
        init=_uniform_start({"m": -3.0, "b": -3.0}, {"m": 3.0, "b": 3.0}),
        description="y = m*x + b, least squares",
        f_opt=f_opt,
        x_opt=x_opt,
        search_box=({"m": -10.0, "b": -10.0}, {"m": 10.0, "b": 10.0}),
    )


@register_problem("quadratic", tags=("smoke", "curve_fitting"), limits=LIMITS)
def quadratic(n: int = 100, noise: float = 0.5, seed: int = 0) -> Problem:
    """Fit y = a*x**2 + b*x + c to noisy samples; the optimum is the exact least-squares parabola."""
    x, y = _samples(seed, n, -1.0, 1.0, lambda x: 1.5 * x**2 - 2.0 * x + 0.5, noise)
    x_opt, f_opt = _linear_optimum(np.stack([x**2, x, np.ones_like(x)], 1), y, ("a", "b", "c"))
    box = {"a": 3.0, "b": 3.0, "c": 3.0}
    return least_squares_problem(
        "quadratic",
        lambda p, x: p["a"] * x**2 + p["b"] * x + p["c"],
        x,
        y,
        init=_uniform_start({k: -v for k, v in box.items()}, box),
        description="y = a*x**2 + b*x + c, least squares",
        f_opt=f_opt,
        x_opt=x_opt,
        search_box=({k: -10.0 for k in box}, {k: 10.0 for k in box}),
    )


@register_problem("sinusoidal", tags=("smoke", "curve_fitting"), limits=LIMITS)
def sinusoidal(n: int = 100, noise: float = 0.2, seed: int = 0) -> Problem:
    """Fit y = a*sin(x + b) to noisy samples on [-pi, pi], the classic teaching example."""
    import jax.numpy as jnp

    truth = {"a": 2.0, "b": 0.5}
    x, y = _samples(seed, n, -PI, PI, lambda x: truth["a"] * np.sin(x + truth["b"]), noise)
    problem = least_squares_problem(
        "sinusoidal",
        lambda p, x: p["a"] * jnp.sin(x + p["b"]),
        x,
        y,
        init=_uniform_start({"a": 0.5, "b": -PI}, {"a": 3.0, "b": PI}),
        description="y = a*sin(x + b), least squares",
        search_box=({"a": -5.0, "b": -PI}, {"a": 5.0, "b": PI}),
    )
    x_opt, f_opt = _polish(problem, truth)
    return dataclasses.replace(problem, f_opt=f_opt, x_opt=x_opt)


@register_problem("sinusoidal_wave", tags=("smoke", "curve_fitting", "multimodal"), limits=LIMITS)
def sinusoidal_wave(n: int = 200, noise: float = 0.2, seed: int = 0) -> Problem:
    """Fit y = a*sin(w*x + b) + c on [-pi, pi]; the frequency w makes many local minima."""
    import jax.numpy as jnp

    truth = {"a": 1.5, "w": 3.0, "b": 0.5, "c": 0.3}
    x, y = _samples(seed, n, -PI, PI, lambda x: 1.5 * np.sin(3.0 * x + 0.5) + 0.3, noise)
    problem = least_squares_problem(
        "sinusoidal_wave",
        lambda p, x: p["a"] * jnp.sin(p["w"] * x + p["b"]) + p["c"],
        x,
        y,
        init=_uniform_start({"a": 0.5, "w": 0.5, "b": -PI, "c": -1.0}, {"a": 3.0, "w": 5.0, "b": PI, "c": 1.0}),
        description="y = a*sin(w*x + b) + c, least squares, multimodal in w",
        search_box=({"a": -5.0, "w": 0.0, "b": -PI, "c": -5.0}, {"a": 5.0, "w": 10.0, "b": PI, "c": 5.0}),
    )
    x_opt, f_opt = _polish(problem, truth)
    return dataclasses.replace(problem, f_opt=f_opt, x_opt=x_opt)
