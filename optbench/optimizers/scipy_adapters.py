"""Reference solvers from ``scipy.optimize``, fed by the same JAX problem.

Objective, gradient, residuals and Jacobian come from the problem through a ``Bridge``
(exact derivatives, compiled once; a black box's function is called directly). optbench
counts every call the library makes (scipy's own ``njev`` for ``lm`` can be one short of
the Jacobians it evaluated), and the budget stops scipy from inside its callbacks.

A problem's ``bounds`` are passed to the methods that take them (``scipy_trf``,
``scipy_lbfgsb``, ``scipy_nelder_mead``); the others ignore them, as ``describe`` says.

The budget is also passed to scipy's own limits (``maxiter``, ``maxfev``, ``maxfun``,
``max_nfev``), and a limit the budget does not set is lifted: scipy's defaults (200 x n
evaluations for Nelder-Mead) would otherwise stop a method before its budget is spent,
and every method gets the same budget. The other defaults are scipy's.
"""

from __future__ import annotations

from typing import Any

from optbench.budget import MAX_COUNT
from optbench.errors import SpecError
from optbench.registry import register_optimizer
from optbench.result import Status
from optbench.solver import HostSolver


class ScipyLeastSquares(HostSolver):
    """``scipy.optimize.least_squares`` on the residuals with the exact Jacobian."""

    needs = ("residuals", "jacobian")

    def __init__(self, method: str, **options: Any):
        import scipy.optimize  # noqa: F401  (imported here, before any run's clock starts)

        self.method, self.options = method, options

    def solve(self, bridge: Any, x0: Any) -> tuple[Any, Status, str]:
        import numpy as np
        from scipy.optimize import least_squares

        bounded = {}
        if bridge.bounds is not None and self.method in _BOUNDED:  # trf needs a start inside them
            bounded, x0 = {"bounds": bridge.bounds}, np.clip(x0, *bridge.bounds)
        out = least_squares(
            bridge.residuals,
            x0,
            jac=bridge.jacobian,
            method=self.method,
            max_nfev=bridge.budget.max_evals or MAX_COUNT,
            **bounded,
            **self.options,
        )
        # status 0: scipy's own evaluation limit; negative: improper input; positive: converged
        status = Status.CONVERGED if out.status > 0 else Status.MAX_EVALS if out.status == 0 else Status.FAILED
        return out.x, status, out.message


class ScipyMinimize(HostSolver):
    """``scipy.optimize.minimize``; gradient methods get the value and exact gradient in one call."""

    def __init__(self, method: str, gradient: bool, **options: Any):
        import scipy.optimize  # noqa: F401  (imported here, before any run's clock starts)

        self.method, self.gradient, self.options = method, gradient, options
        self.needs = ("value_and_grad",) if gradient else ("value",)

    def solve(self, bridge: Any, x0: Any) -> tuple[Any, Status, str]:
        import numpy as np
        from scipy.optimize import Bounds, minimize

        options = {**self.options, "maxiter": bridge.budget.max_steps or MAX_COUNT}
        evaluations = _EVALUATION_LIMIT.get(self.method)
        if evaluations is not None:
            options[evaluations] = bridge.budget.max_evals or MAX_COUNT
        fun = bridge.fun_and_grad if self.gradient else bridge.fun
        bounds = bridge.bounds if self.method in _BOUNDED else None
        if bounds is not None:  # a start outside them is moved in (as scipy would, with a warning)
            x0 = np.clip(x0, *bounds)
        out = minimize(
            fun,
            x0,
            jac=self.gradient or None,
            method=self.method,
            bounds=None if bounds is None else Bounds(*bounds),
            callback=bridge.iteration,
            options=options,
        )
        bridge.nit = int(out.nit)
        return out.x, _status(out.success, str(out.message)), str(out.message)


# The methods given a problem's bounds (those registered with ``keeps_bounds``).
_BOUNDED = {"trf", "L-BFGS-B", "Nelder-Mead"}
# The name of each method's own limit on evaluations, where it has one.
_EVALUATION_LIMIT = {"Nelder-Mead": "maxfev", "Powell": "maxfev", "L-BFGS-B": "maxfun"}


def _status(success: bool, message: str) -> Status:
    """scipy's status codes differ by method; its messages say which limit stopped it. A
    method that stopped for another reason (BFGS's "precision loss") has settled: it
    counts as converged, and succeeds only if it ended near the known optimum."""
    text = message.lower()
    if not success and "iteration" in text:
        return Status.MAX_STEPS
    if not success and "evaluation" in text:
        return Status.MAX_EVALS
    return Status.CONVERGED


@register_optimizer("scipy_lm", requires=("residuals",), family="scipy")
def scipy_lm(xtol: float = 1e-8, ftol: float = 1e-8, gtol: float = 1e-8) -> ScipyLeastSquares:
    """MINPACK's Levenberg-Marquardt through scipy.optimize.least_squares(method="lm") (Moré 1978)."""
    return ScipyLeastSquares("lm", xtol=xtol, ftol=ftol, gtol=gtol)


@register_optimizer("scipy_trf", requires=("residuals",), family="scipy", keeps_bounds=True)
def scipy_trf(xtol: float = 1e-8, ftol: float = 1e-8, gtol: float = 1e-8) -> ScipyLeastSquares:
    """Trust Region Reflective least squares, scipy.optimize.least_squares(method="trf") (Branch et al. 1999)."""
    return ScipyLeastSquares("trf", xtol=xtol, ftol=ftol, gtol=gtol)


@register_optimizer("scipy_bfgs", family="scipy", max_params=1000)
def scipy_bfgs(gtol: float = 1e-5) -> ScipyMinimize:
    """BFGS with a Wolfe line search, scipy.optimize.minimize(method="BFGS") (Nocedal & Wright, sec. 6.1)."""
    return ScipyMinimize("BFGS", gradient=True, gtol=gtol)


@register_optimizer("scipy_lbfgsb", family="scipy", keeps_bounds=True)
def scipy_lbfgsb(ftol: float = 2.220446049250313e-09, gtol: float = 1e-5, maxcor: int = 10) -> ScipyMinimize:
    """Limited-memory BFGS with bounds, scipy.optimize.minimize(method="L-BFGS-B") (Byrd et al. 1995)."""
    if maxcor < 1:
        raise SpecError(f"maxcor must be at least 1, got {maxcor}")
    return ScipyMinimize("L-BFGS-B", gradient=True, ftol=ftol, gtol=gtol, maxcor=maxcor)


@register_optimizer("scipy_nelder_mead", requires=("value",), family="scipy", max_params=1000, keeps_bounds=True)
def scipy_nelder_mead(xatol: float = 1e-4, fatol: float = 1e-4, adaptive: bool = False) -> ScipyMinimize:
    """The downhill simplex, scipy.optimize.minimize(method="Nelder-Mead") (Nelder & Mead 1965).

    ``adaptive`` scales the reflection, expansion, contraction and shrink coefficients with
    the dimension (Gao & Han 2012). scipy's default keeps the classic ones (1, 2, 1/2, 1/2),
    as native ``nelder_mead`` does (the two agree to 1e-12); they stall on ill-conditioned
    problems beyond a few dimensions."""
    return ScipyMinimize("Nelder-Mead", gradient=False, xatol=xatol, fatol=fatol, adaptive=adaptive)
