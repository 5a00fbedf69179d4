"""Least-squares methods on a problem's residuals, with exact (autodiff) Jacobians."""

from __future__ import annotations

from typing import Any, NamedTuple

from optbench.flat_problem import flatten, unravel_for, vector_function
from optbench.problem import Problem
from optbench.registry import register_optimizer
from optbench.solver import NativeSolver, StepInfo
from optbench.tuning.space import log_range

FTOL = 1e-14


class _State(NamedTuple):
    params: Any  # the parameters in the problem's own pytree
    x: Any  # the same, flat
    r: Any  # residuals at x
    jac: Any  # Jacobian at x
    scale: Any  # D: running maximum of the Jacobian's column norms
    radius: Any  # trust-region radius for the scaled step |D d|
    small_step: Any  # the last step or radius was below the tolerance: x is converged
    pending_nfev: Any  # evaluations made in init, counted with the first step
    pending_njev: Any


class LevenbergMarquardt(NativeSolver):
    """Levenberg-Marquardt as a trust-region method on the scaled step, as in MINPACK.

    Each step solves min |J d + r| subject to |D d| <= radius, where D holds the running
    maximum of the Jacobian's column norms (so the method does not depend on the units of
    the parameters). The damping that puts the step on the boundary comes from Newton's
    method on the secular equation, using an SVD of the scaled Jacobian (no normal
    equations). A step that lowers the residual sum of squares is taken; the radius grows
    or shrinks with the ratio of actual to predicted reduction. ``undamped`` gives
    Gauss-Newton: every full step is taken. References: Moré, "The Levenberg-Marquardt
    algorithm: implementation and theory" (1978); Hebden (1973) for the secular equation;
    Nocedal & Wright, "Numerical Optimization", sec. 10.3.
    """

    def __init__(self, factor: Any = 1.0, xtol: Any = 1e-15, ftol: Any = 0.0, gtol: Any = 0.0, undamped: bool = False):
        self.factor, self.xtol, self.ftol, self.gtol, self.undamped = factor, xtol, ftol, gtol, undamped

    def init(self, problem: Problem, data: Any, params: Any, key: Any) -> _State:
        import jax
        import jax.numpy as jnp

        residuals = vector_function(problem, data, "residuals")
        x = flatten(params)
        r, jac = residuals(x), jax.jacfwd(residuals)(x)
        scale = _scale(jnp.zeros_like(x), jac)
        size = jnp.linalg.norm(scale * x)
        radius = self.factor * jnp.where(size > 0, size, 1.0)
        one = jnp.ones((), jnp.int32)
        return _State(params, x, r, jac, scale, radius, jnp.asarray(False), one, one)

    def step(self, problem: Problem, data: Any, state: _State) -> tuple[_State, StepInfo]:
        import jax
        import jax.numpy as jnp

        residuals, unravel = vector_function(problem, data, "residuals"), unravel_for(problem)
        x, r, jac, scale = state.x, state.r, state.jac, state.scale
        cost = jnp.sum(r**2)
        converged = state.small_step | (jnp.max(jnp.abs(jac.T @ r)) <= self.gtol) | (cost == 0)
        z = _trust_region_step(jac / scale, r, None if self.undamped else state.radius)  # the scaled step D d
        delta = z / scale
        trial = x + delta
        # From a converged point no trial is evaluated (in a batch both branches run).
        r_trial = jax.lax.cond(converged, lambda _: r, residuals, trial)
        actual = cost - jnp.sum(r_trial**2)
        predicted = cost - jnp.sum((r + jac @ delta) ** 2)
        finite = jnp.all(jnp.isfinite(r_trial))
        # A trial that overflows is a failed step: the radius must shrink, not stay.
        rho = jnp.where(finite & (predicted > 0), actual / predicted, -1.0)
        accept = ~converged & (finite if self.undamped else finite & (rho > 1e-4))
        x_new = jnp.where(accept, trial, x)
        # The Jacobian is evaluated only at a point that was taken.
        jac_new = jax.lax.cond(accept, jax.jacfwd(residuals), lambda _: jac, x_new)
        length = jnp.linalg.norm(z)
        # MINPACK's radius update: halve (at most to 10|z|/2) after a poor step; set to 2|z|
        # after a good one, or when the Gauss-Newton step fitted inside the region.
        inside = length < 0.999 * state.radius
        new_radius = jnp.where(
            rho <= 0.25,
            0.5 * jnp.minimum(state.radius, 10 * length),
            jnp.where((rho >= 0.75) | inside, 2 * length, state.radius),
        )
        size = jnp.linalg.norm(scale * x_new)
        small = (length <= self.xtol * (size + self.xtol)) | (new_radius <= self.xtol * size)
        # MINPACK's ftol test: the actual and the predicted relative reductions of the sum
        # of squares are both at most ftol (and the step was not a poor one).
        flat = (jnp.abs(actual) <= self.ftol * cost) & (predicted <= self.ftol * cost) & (rho <= 2)
        small = small | (~converged & finite & flat)
        new_state = _State(
            unravel(x_new),
            x_new,
            jnp.where(accept, r_trial, r),
            jac_new,
            _scale(scale, jac_new),
            new_radius,
            small,
            0 * state.pending_nfev,
            0 * state.pending_njev,
        )
        info = StepInfo(
            loss=jnp.mean(r**2),
            nfev=state.pending_nfev + jnp.where(converged, 0, 1),
            njev=state.pending_njev + accept.astype(jnp.int32),
            converged=converged,
            known_nfev=state.pending_nfev,  # r at x: known before the step
            known_njev=state.pending_njev,
        )
        return new_state, info

    def init_evals(self, problem: Problem) -> int:
        return 1  # the residuals at the start (and their Jacobian, counted in njev)

    def params(self, state: _State) -> Any:
        return state.params


def _trust_region_step(jac: Any, r: Any, radius: Any, iterations: int = 30) -> Any:
    """argmin |jac z + r| subject to |z| <= radius, by SVD and Newton on 1/|z(mu)| = 1/radius;
    with ``radius=None``, the Gauss-Newton step (no region)."""
    import jax
    import jax.numpy as jnp

    u, s, vt = jnp.linalg.svd(jac, full_matrices=False)
    c = u.T @ r
    tiny = jnp.finfo(s.dtype).eps * jnp.max(s) * max(jac.shape)
    kept = s > tiny

    weights = jnp.where(kept, s * c, 0.0)

    def step(mu):  # dropped singular values contribute nothing, not 0/0
        return -vt.T @ jnp.where(kept, weights / jnp.where(kept, s**2 + mu, 1.0), 0.0)

    full = step(0.0)
    if radius is None:
        return full

    def newton(_, mu):
        norm2 = jnp.sum((weights / (s**2 + mu)) ** 2)
        slope = -2 * jnp.sum(weights**2 / (s**2 + mu) ** 3)  # d|z|^2/dmu
        norm = jnp.sqrt(norm2)
        # Newton on phi(mu) = 1/|z| - 1/radius, which is nearly linear in mu (Hebden 1973).
        return jnp.maximum(mu + 2 * norm2 * (norm - radius) / (radius * -slope), 0.0)

    mu = jax.lax.fori_loop(0, iterations, newton, jnp.zeros((), s.dtype))
    return jnp.where(jnp.linalg.norm(full) <= radius, full, step(mu))


def _scale(previous: Any, jac: Any) -> Any:
    """Moré's scaling D: the running maximum of the Jacobian's column norms, as in
    MINPACK; a column that has been zero everywhere gets scale 1."""
    import jax.numpy as jnp

    column = jnp.linalg.norm(jac, axis=0)
    return jnp.maximum(previous, jnp.where(column > 0, column, 1.0))


@register_optimizer("lm", requires=("residuals",), space={"factor": log_range(0.1, 100.0)})
def lm(factor: float = 1.0, xtol: float = 1e-15, ftol: float = FTOL, gtol: float = 0.0) -> LevenbergMarquardt:
    """Levenberg-Marquardt, trust-region form, on the residuals with an exact Jacobian (Moré 1978).

    ``factor`` sets the first trust radius, factor * |D x0| (MINPACK's range 0.1-100; at 1
    every NIST StRD case reaches the certified values from both starts); ``xtol`` is the
    relative step size, ``ftol`` the relative reduction of the sum of squares (actual and
    predicted) and ``gtol`` the gradient size at which the fit has converged.
    """
    return LevenbergMarquardt(factor=factor, xtol=xtol, ftol=ftol, gtol=gtol)


@register_optimizer("gauss_newton", requires=("residuals",))
def gauss_newton(xtol: float = 1e-15) -> LevenbergMarquardt:
    """Undamped Gauss-Newton steps with an exact Jacobian, for comparison (Nocedal & Wright, sec. 10.3)."""
    return LevenbergMarquardt(xtol=xtol, undamped=True)
