"""Black-box objectives: plain numpy (or any Python) functions of a flat vector, from a
simulation, legacy code or an external program, that JAX cannot trace or differentiate.

``black_box_problem`` makes one a ``Problem`` offering ``value`` (or ``objectives``)
only, so gradient methods are skipped with the reason; with ``fd_grad``, finite-difference
gradients (each difference an evaluation) let library gradient methods run on it, and a
model's ``residuals`` let library least-squares methods (``scipy_lm``, ``scipy_trf``) fit
it, with finite-difference Jacobians (each difference an evaluation as well). Native
derivative-free and population methods call it through ``jax.pure_callback`` inside their compiled loop: a
population in one call when the function is ``vectorized``, one call per point otherwise.
Library solvers (scipy, DEAP, pymoo) call it directly, without JAX in between. Every call
is a real evaluation: the loop makes only the calls it counts (see ``Problem.black_box``
in ``optbench.drive.programs``), so a run's ``nfev`` is the number of points the function saw.

An exception inside the function fails the run with its message; NaN or inf is a value
like any other (a run whose loss is not finite ends ``diverged``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np

from optbench.errors import OptbenchError
from optbench.problem import Problem


class BlackBoxError(Exception):
    """The function raised: its run fails with the message (see ``optbench.drive.run_one``)."""


def _quiet(record: logging.LogRecord) -> bool:
    """JAX logs every exception raised inside a host callback with its traceback; a black
    box's is a result, stored with the run, so it is not printed as well."""
    return not (record.exc_info and isinstance(record.exc_info[1], BlackBoxError))


logging.getLogger("jax._src.callback").addFilter(_quiet)


@dataclass(eq=False)
class BlackBox:
    """A function of flat vectors, seen from the host: ``values`` evaluates points and
    remembers the first exception the function raised during the current run."""

    fn: Callable[[np.ndarray], Any]
    n: int
    vectorized: bool = False
    n_objectives: int | None = None  # None: a scalar objective
    error: str | None = None
    fd: str | None = None  # "forward" or "central": finite-difference gradients for library methods
    residual_fn: Callable[[np.ndarray], Any] | None = None  # x (n,) -> residuals (m,); (k, n) -> (k, m) vectorized
    _last: tuple[bytes, np.ndarray] | None = None  # the latest point whose residuals were computed, and them
    seconds: float = 0.0  # time spent inside the function during the current run

    @property
    def gradient_cost(self) -> int:
        """The evaluations one value and finite-difference gradient take: the point and n
        neighbours (forward), or the point and 2 n neighbours (central)."""
        return self.n + 1 if self.fd == "forward" else 2 * self.n + 1

    def value_and_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """The value at ``x`` and its finite-difference gradient, from ``gradient_cost``
        points evaluated together (one call of a vectorized function). Steps as scipy's
        ``approx_derivative``: relative sqrt(eps) (forward) or eps**(1/3) (central), times
        max(1, |x_i|), with the sign of x_i, rounded to the floating-point grid."""
        x = np.asarray(x, dtype=np.float64)
        h = _steps(x, central=self.fd == "central")
        steps = np.diag(h)
        if self.fd == "forward":
            values = self.values(np.vstack([x, x + steps]))
            return float(values[0]), (values[1:] - values[0]) / h
        values = self.values(np.vstack([x, x + steps, x - steps]))
        return float(values[0]), (values[1 : self.n + 1] - values[self.n + 1 :]) / (2 * h)

    def residuals(self, x: np.ndarray) -> np.ndarray:
        """The residuals (m,) at one flat point, as float64: one evaluation."""
        x = np.asarray(x, dtype=np.float64)
        r = self._residual_rows(x[None])[0]
        self._last = (x.tobytes(), r)
        return r

    def jacobian_cost(self, x: np.ndarray) -> int:
        """The evaluations ``jacobian(x)`` takes: n neighbours, and the point itself unless its
        residuals were the latest computed (as they are where a least-squares method asks)."""
        return self.n if self._known_residuals(x) is not None else self.n + 1

    def jacobian(self, x: np.ndarray) -> np.ndarray:
        """The forward-difference Jacobian (m, n) at ``x``, with ``value_and_grad``'s steps;
        the neighbours are evaluated together (one call of a vectorized function)."""
        x = np.asarray(x, dtype=np.float64)
        h = _steps(x, central=False)
        r0 = self._known_residuals(x)
        rows = self._residual_rows(x + np.diag(h) if r0 is not None else np.vstack([x, x + np.diag(h)]))
        return ((rows[-self.n :] - (rows[0] if r0 is None else r0)) / h[:, None]).T

    def _known_residuals(self, x: np.ndarray) -> np.ndarray | None:
        """The residuals at ``x`` if they were the latest computed, else None."""
        known = self._last is not None and self._last[0] == np.asarray(x, dtype=np.float64).tobytes()
        return self._last[1] if known else None

    def _residual_rows(self, x: np.ndarray) -> np.ndarray:
        assert self.residual_fn is not None

        def check(out: np.ndarray) -> str:
            return "" if out.ndim == 2 and len(out) == len(x) else f"shape {out.shape} for {len(x)} point(s)"

        return self._called(self.residual_fn, x, check, "residual function", "one vector each")

    def _called(self, fn: Callable[[np.ndarray], Any], x: np.ndarray, check: Callable[[np.ndarray], str],
                what: str, expected: str) -> np.ndarray:  # fmt: skip
        """``fn`` at the points ``x`` (k, n) as float64: one call of a vectorized function,
        else one call per point. The first exception of a run is remembered as its error."""
        started = time.perf_counter()
        try:
            if self.vectorized:
                out = np.asarray(fn(x), dtype=np.float64)
            else:
                out = np.array([np.ravel(np.asarray(fn(row), dtype=np.float64)) for row in x])
            self.seconds += time.perf_counter() - started
            if wrong := check(out):
                raise OptbenchError(f"it returned {wrong}; expected {expected}")
        except Exception as err:
            if self.error is None:
                self.error = f"the black-box {what} raised {type(err).__name__}: {err}"
            raise BlackBoxError(self.error) from err
        return out

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of one point's value."""
        return () if self.n_objectives is None else (self.n_objectives,)

    def values(self, points: Any) -> np.ndarray:
        """The values at ``points`` (k, n) as float64, (k,) or (k, m): one call of a
        vectorized function, else one call per point."""
        x = np.array(points, dtype=np.float64).reshape(-1, self.n)

        def check(out: np.ndarray) -> str:
            return "" if out.size == len(x) * int(np.prod(self.shape)) else f"{out.size} numbers for {len(x)} point(s)"

        per_point = f"{'one' if not self.shape else self.shape[0]} per point"
        return self._called(self.fn, x, check, "function", per_point).reshape(len(x), *self.shape)

    def value(self, x: np.ndarray) -> float:
        """The scalar value at one flat point (library solvers)."""
        return float(self.values(x[None])[0])

    def functions(self) -> dict[str, Callable[[np.ndarray], Any]]:
        """The functions of one flat point a library solver may call, by the names of
        ``optbench.flat_problem.vector_function``: the value, and the finite-difference
        gradient and the residuals and their Jacobian where the function offers them."""
        offered = {"value": self.value}
        if self.fd is not None:
            offered["value_and_grad"] = self.value_and_grad
        if self.residual_fn is not None:
            offered.update(residuals=self.residuals, jacobian=self.jacobian)
        return offered

    def traced(self, dtype: str, shared: bool = False) -> tuple[Callable[..., Any], np.ndarray | None]:
        """The function as JAX sees it, ``(x (n,), batch=None) -> value``, through a host
        callback, which ``vmap`` turns into one call on (k, n) when vectorized, k calls
        otherwise; and the problem's data. ``shared``: the data is a (1,) int32 index that
        says which black box the host calls, passed to compiled programs as the problem's
        data, so one compiled program serves every black box of the same shape."""
        which = None
        if shared:
            which = np.array([len(_BY_INDEX)], np.int32)
            _BY_INDEX.append(self)

        def host(x: np.ndarray, *index: np.ndarray) -> np.ndarray:
            box = _BY_INDEX[int(np.ravel(index[0])[0])] if index else self
            return box.values(x).reshape(x.shape[:-1] + box.shape).astype(dtype)

        method = "expand_dims" if self.vectorized else "sequential"

        def call(x: Any, batch: Any = None) -> Any:
            out = jax.ShapeDtypeStruct(self.shape, dtype)
            index = () if which is None else (jax.numpy.asarray(which if batch is None else batch, jax.numpy.int32),)
            return jax.pure_callback(host, out, jax.numpy.asarray(x, dtype), *index, vmap_method=method)

        return call, which


# Black boxes whose programs are shared, by the index compiled programs receive as data.
_BY_INDEX: list[BlackBox] = []


def black_box_problem(
    name: str,
    fn: Callable[[np.ndarray], Any] | None = None,
    x0: Any = None,
    bounds: tuple[Any, Any] | None = None,
    *,
    search_box: tuple[Any, Any] | None = None,
    vectorized: bool = False,
    f_opt: float | None = None,
    x_opt: Any = None,
    objectives: int | None = None,
    reference_point: Any = None,
    pareto_front: Callable[[int], Any] | None = None,
    description: str = "",
    dtype: str = "float64",
    program_key: Any = None,
    fd_grad: bool | str = False,
    residuals: Callable[[np.ndarray], Any] | None = None,
) -> Problem:
    """A problem from a plain Python function of a flat numpy vector.

    Args:
        name: the problem's name.
        fn: ``fn(x) -> float`` for ``x`` of shape (n,); with ``vectorized``, ``fn(X)`` for
            ``X`` of shape (k, n) returns k values. With ``objectives=m``, each value is a
            vector of m objectives (all minimized) for Pareto search. Optional with
            ``residuals``: the loss is then their mean square, as ``least_squares_problem``'s.
        x0: the starting point (n,). Without it, each seed draws one uniformly in
            ``bounds`` (or ``search_box``).
        bounds: ``(lower, upper)``, scalars or (n,) arrays: the box ``fn`` is defined on,
            a constraint as in ``scipy.optimize``: population methods sample from it,
            methods that keep to bounds are given it, and a run that ends outside it is
            flagged (``in_bounds`` False) and never a success.
        search_box: instead of ``bounds``, for a function defined everywhere: the box
            population methods sample and search (BBOB's [-5, 5]^n), no constraint.
        vectorized: ``fn`` takes a batch of points: a population is one call.
        f_opt, x_opt: the known optimum, where there is one (fixed-target views use it).
        objectives: the number of objectives of a vector-valued ``fn``; it then needs
            ``bounds`` and a ``reference_point`` for its hypervolume.
        description: one line saying what it is.
        dtype: what the points are computed in inside compiled loops.
        program_key: black boxes given the same key (and of the same size and kind) share
            compiled programs, as a family of functions such as BBOB's does: the program
            receives which function to call as data, so it compiles once for them all.
        fd_grad: ``True`` or ``"forward"`` (n + 1 evaluations a gradient) or ``"central"``
            (2 n + 1): finite-difference gradients, so library gradient methods
            (``scipy_bfgs``, ``scipy_lbfgsb``) run on it, every difference counted in
            ``nfev``. Native gradient methods, which need JAX's derivatives, skip it.
        residuals: ``residuals(x) -> (m,)`` (with ``vectorized``, (k, n) -> (k, m)), a model's
            residuals: library least-squares methods (``scipy_lm``, ``scipy_trf``) fit them
            with forward-difference Jacobians, n evaluations each, counted in ``nfev``.
            Native ``lm`` and ``gauss_newton``, which need JAX's derivatives, skip it.
    """
    if residuals is not None and not callable(residuals):
        raise OptbenchError(f"black box {name!r}: residuals must be callable, got {type(residuals).__name__}")
    if residuals is not None and objectives:
        raise OptbenchError(f"black box {name!r}: residuals are for one objective, their mean square")
    if fn is None and residuals is not None:
        fn = _mean_square(residuals, vectorized)
    if not callable(fn):
        raise OptbenchError(f"black box {name!r}: fn must be callable, got {type(fn).__name__}")
    if bounds is not None and search_box is not None:
        raise OptbenchError(f"black box {name!r}: give bounds (a constraint) or a search_box (none), not both")
    kind, given = ("bounds", bounds) if search_box is None else ("search_box", search_box)
    if x0 is None and given is None:
        raise OptbenchError(f"black box {name!r}: give a starting point x0, or bounds to draw starting points in")
    if objectives is not None and (isinstance(objectives, bool) or not isinstance(objectives, int) or objectives < 1):
        raise OptbenchError(f"black box {name!r}: objectives must be a whole number of objectives, got {objectives!r}")
    start = None if x0 is None else np.atleast_1d(np.asarray(x0, dtype=np.float64))
    if start is not None and start.ndim != 1:
        raise OptbenchError(f"black box {name!r}: x0 must be a flat vector, got shape {start.shape}")
    box = None
    if given is not None:
        if start is None and all(np.ndim(b) == 0 for b in given):
            raise OptbenchError(f"black box {name!r}: without x0, give {kind} as vectors, one value per variable")
        lower, upper = (np.atleast_1d(np.asarray(b, dtype=np.float64)) for b in given)
        n = len(start) if start is not None else max(len(lower), len(upper))
        try:
            lower, upper = np.broadcast_to(lower, (n,)).copy(), np.broadcast_to(upper, (n,)).copy()
        except ValueError:
            raise OptbenchError(f"black box {name!r}: {kind} must be scalars or vectors of length {n}") from None
        if not (np.all(np.isfinite(lower)) and np.all(np.isfinite(upper)) and np.all(lower < upper)):
            raise OptbenchError(f"black box {name!r}: {kind} must be finite with lower < upper")
        box = (lower, upper)
    n = len(start) if start is not None else len(box[0])
    known = {False: None, True: "forward", "forward": "forward", "central": "central"}
    fd = known[fd_grad] if isinstance(fd_grad, (bool, str)) and fd_grad in known else "?"
    if fd == "?" or (fd is not None and objectives):
        raise OptbenchError(
            f"black box {name!r}: fd_grad is False, True, 'forward' or 'central' (for one objective), got {fd_grad!r}"
        )
    black_box = BlackBox(fn, n, vectorized=vectorized, n_objectives=objectives, fd=fd, residual_fn=residuals)
    traced, data = black_box.traced(dtype, shared=program_key is not None)
    if program_key is not None:
        program_key = ("black_box", program_key, n, vectorized, objectives)
    return Problem(
        name=name,
        loss=None if objectives else traced,
        objectives=traced if objectives else None,
        residuals=None if residuals is None else _host_only,
        init=start if start is not None else uniform_start(*box),
        description=description or f"a black-box function of {n} variables",
        dtype=dtype,
        bounds=box if kind == "bounds" else None,
        search_box=box if kind == "search_box" else None,
        f_opt=f_opt,
        x_opt=x_opt,
        reference_point=reference_point,
        pareto_front=pareto_front,
        differentiable=False,
        black_box=black_box,
        data=data,
        program_key=program_key,
    )


def _steps(x: np.ndarray, central: bool) -> np.ndarray:
    """scipy's finite-difference steps: relative sqrt(eps) (forward) or eps**(1/3)
    (central), times max(1, |x_i|), with the sign of x_i, rounded to the floating-point grid."""
    h = (
        np.finfo(np.float64).eps ** (1 / 3 if central else 0.5)
        * np.where(x >= 0, 1.0, -1.0)
        * np.maximum(1.0, np.abs(x))
    )
    return (x + h) - x  # a step the points can represent exactly


def _mean_square(residuals: Callable[[np.ndarray], Any], vectorized: bool) -> Callable[[np.ndarray], Any]:
    def loss(x: np.ndarray) -> Any:
        r = np.asarray(residuals(x), dtype=np.float64)
        return np.mean(r**2, axis=-1) if vectorized else float(np.mean(r**2))

    return loss


def _host_only(params: Any, data: Any) -> Any:
    """A black box's residuals as ``Problem.residuals``: library methods call them on the
    host (``BlackBox.residuals``); nothing compiled may, and native methods skip it."""
    raise OptbenchError("a black box's residuals are computed on the host, for library least-squares methods")


def uniform_start(lower: np.ndarray, upper: np.ndarray) -> Callable[[Any], Any]:
    """A starting point drawn uniformly in the box from each seed's key."""

    def draw(key: Any) -> Any:
        return jax.random.uniform(key, lower.shape, minval=lower, maxval=upper, dtype=lower.dtype)

    return draw
