"""The problem interface: an immutable description of what to minimize."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from optbench.errors import OptbenchError

_DTYPES = ("float32", "float64")
FRONT_POINTS = 500  # points of a known Pareto front that IGD and IGD+ are measured against


@dataclass(frozen=True, eq=False)
class Problem:
    """What to minimize, what it offers, and what is known about it.

    Args:
        name: short name, as registered.
        loss: a pure JAX scalar function, ``loss(params)`` or ``loss(params, batch)``;
            ``batch=None`` means the full training data. A multi-objective problem may
            leave it out and give ``objectives`` instead.
        init: the starting point (a pytree of arrays) or a function ``key -> pytree``
            drawing one per seed.
        description: one line saying what the problem is.
        dtype: ``"float64"`` (curve fitting) or ``"float32"``; data and parameters are cast to it.
        residuals: ``residuals(params, batch=None)``, the residual vector of a least-squares
            problem whose loss is their mean square.
        objectives: ``objectives(params)``, a vector of objectives (all minimized) for
            Pareto search; such a problem needs ``bounds`` and a ``reference_point``.
        reference_point: the point hypervolume is measured against, one value per objective.
        pareto_front: ``pareto_front(n) -> (n, m) array``, n points spread over the true
            Pareto front, where it is known; IGD and IGD+ are measured against it.
        data: the training data, a pytree of arrays sharing a leading axis of examples;
            minibatches are slices of it along that axis.
        batch_size: default minibatch size for stochastic methods.
        bounds: ``(lower, upper)``, the box the problem is defined on (a constraint, as in
            ``scipy.optimize``): population methods sample from it, methods that keep to
            bounds (``describe`` says which) are given it, and a run that ends outside it is
            flagged (``in_bounds`` False) and never a success.
        search_box: ``(lower, upper)`` for an unconstrained problem: where population
            methods sample and search (no constraint; a fit may end outside it). Without
            either, a box around the start (``optbench.flat_problem.search_box``).
        metrics: ``metrics(params) -> dict[str, scalar]``, extra scores recorded in the trace.
        f_opt: the known (or certified) optimal loss; x_opt: a minimizer. For a
            multi-objective problem, minus the hypervolume of the true front.
        target_scale: what the precision targets of the analysis are relative to:
            ``f - f_opt <= delta * target_scale`` for COCO's grid of delta. None (the
            default) means 1: absolute targets, COCO's convention for BBOB. Give one where
            optima of one family differ by orders of magnitude (NIST's span 6e-27 to 586).
        starts: fixed named starting points.
        differentiable: False when JAX cannot differentiate ``loss``.
        predict: ``predict(params, x)``, the model's output on inputs ``x`` (a curve fit's
            predicted y, a classifier's logits), for pictures of what was learned
            (``optbench plot --kind fit`` and ``--kind boundary``); optional.
        black_box: set by ``optbench.black_box_problem`` for a plain Python function that
            ``loss`` (or ``objectives``) calls through a host callback: library solvers call
            it directly, and compiled loops make only the calls they count.
        program_key: a hashable value naming the computation: problems with the same key
            are promised to differ only in a fixed starting point and in their ``data``
            (never in how a starting point is drawn), so they share compiled programs
            without tracing them again (NIST's ``start=1`` and ``start=2``; BBOB's functions
            of one dimension, whose data says which function to call). Leave it None unless
            that holds.
    """

    name: str
    loss: Callable[..., Any] | None = None
    init: Any = None
    description: str = ""
    dtype: str = "float64"
    residuals: Callable[..., Any] | None = None
    objectives: Callable[..., Any] | None = None
    data: Any = None
    batch_size: int | None = None
    bounds: tuple[Any, Any] | None = None
    search_box: tuple[Any, Any] | None = None
    metrics: Callable[[Any], Mapping[str, Any]] | None = None
    f_opt: float | None = None
    x_opt: Any = None
    target_scale: float | None = None
    reference_point: Any = None
    pareto_front: Callable[[int], Any] | None = None
    starts: Mapping[str, Any] = field(default_factory=dict)
    differentiable: bool = True
    spec: str = ""
    tags: frozenset[str] = frozenset()
    program_key: Any = None
    predict: Callable[[Any, Any], Any] | None = None
    black_box: Any = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise OptbenchError("a Problem needs a non-empty name")
        if self.loss is None and self.objectives is None:
            raise OptbenchError(f"problem {self.name!r}: give a loss, or objectives for Pareto search")
        for what in ("loss", "objectives", "pareto_front"):
            if getattr(self, what) is not None and not callable(getattr(self, what)):
                raise OptbenchError(f"problem {self.name!r}: {what} must be callable")
        if self.objectives is not None:
            if self.bounds is None and self.search_box is None:
                raise OptbenchError(f"problem {self.name!r}: a multi-objective problem needs bounds to sample from")
            if self.reference_point is None:
                raise OptbenchError(
                    f"problem {self.name!r}: a multi-objective problem needs a reference_point for its hypervolume"
                )
        if self.init is None:
            raise OptbenchError(f"problem {self.name!r}: give a starting point (init)")
        if self.dtype not in _DTYPES:
            raise OptbenchError(f"problem {self.name!r}: dtype must be one of {_DTYPES}, got {self.dtype!r}")
        if self.batch_size is not None and self.batch_size < 1:
            raise OptbenchError(f"problem {self.name!r}: batch_size must be positive")
        if self.f_opt is not None:
            object.__setattr__(self, "f_opt", _finite(self.name, "f_opt", self.f_opt))
        if self.target_scale is not None:
            object.__setattr__(self, "target_scale", _finite(self.name, "target_scale", self.target_scale))
            if self.target_scale <= 0:
                raise OptbenchError(f"problem {self.name!r}: target_scale must be positive, got {self.target_scale:g}")
        if not self.spec:
            object.__setattr__(self, "spec", self.name)

    @property
    def program_identity(self) -> Any:
        """What identifies this problem's compiled programs: its ``program_key``, or itself."""
        return self if self.program_key is None else ("program_key", self.program_key, self.dtype)

    @property
    def takes_batch(self) -> bool:
        """Whether ``loss`` accepts a batch argument."""
        if self.loss is None:
            return False
        params = [
            p
            for p in inspect.signature(self.loss).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        return len(params) >= 2

    @property
    def capabilities(self) -> frozenset[str]:
        """What this problem offers, derived from its fields."""
        caps = set()
        if self.loss is not None:
            caps.add("value")
            if self.differentiable or (self.black_box is not None and self.black_box.fd is not None):
                caps.add("grad")  # a black box's by finite differences, for library methods only
        if self.residuals is not None:
            caps.add("residuals")
        if self.objectives is not None:
            caps.add("objectives")
        if self.data is not None and self.takes_batch and self.black_box is None:  # a black box's data is an index
            caps.add("minibatch")
        return frozenset(caps)

    @property
    def n_examples(self) -> int | None:
        """Number of training examples, or None for a problem without data."""
        if self.data is None:
            return None
        import jax

        return int(jax.tree_util.tree_leaves(self.data)[0].shape[0])

    @functools.cached_property
    def n_params(self) -> int:
        """The number of scalar parameters."""
        import jax

        shapes = jax.eval_shape(self.init_params, jax.random.PRNGKey(0))
        return sum(int(np.prod(s.shape)) for s in jax.tree_util.tree_leaves(shapes))

    @functools.cached_property
    def true_front(self) -> Any:
        """``FRONT_POINTS`` points of the known Pareto front as a numpy array, or None."""
        if self.pareto_front is None:
            return None
        return np.asarray(self.pareto_front(FRONT_POINTS), dtype=np.float64)

    def value(self, params: Any, batch: Any = None) -> Any:
        """The loss at ``params`` on ``batch`` (the full training data when None)."""
        return self.loss(params, batch) if self.takes_batch else self.loss(params)

    def init_params(self, key: Any) -> Any:
        """The starting point for a seed's key, cast to the problem's dtype."""
        import jax
        import jax.numpy as jnp

        start = self.init(key) if callable(self.init) else self.init
        return jax.tree_util.tree_map(lambda a: jnp.asarray(a, self.dtype), start)

    def with_spec(self, spec: str, tags: frozenset[str] = frozenset()) -> Problem:
        """A copy that knows the spec string it was built from."""
        return dataclasses.replace(self, spec=spec, tags=self.tags | tags)


def _finite(name: str, what: str, value: Any) -> float:
    """``value`` as a finite float, or a clear error naming the problem."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, (bool, str)) or not math.isfinite(number):
        raise OptbenchError(f"problem {name!r}: {what} must be a finite number, got {value!r}")
    return number


def least_squares_problem(
    name: str,
    model: Callable[[Any, Any], Any],
    x: Any,
    y: Any,
    init: Any,
    *,
    description: str = "",
    dtype: str = "float64",
    f_opt: float | None = None,
    x_opt: Any = None,
    bounds: tuple[Any, Any] | None = None,
    search_box: tuple[Any, Any] | None = None,
    batch_size: int | None = 32,
    **extra: Any,
) -> Problem:
    """A curve fit: ``model(params, x)`` predicts ``y``; the loss is the mean squared residual.

    The residuals are exposed for least-squares methods, and ``(x, y)`` is the training
    data, so stochastic methods can draw minibatches from it.
    """
    import jax.numpy as jnp

    data = (jnp.asarray(x, dtype), jnp.asarray(y, dtype))

    def residuals(params: Any, batch: Any = None) -> Any:
        xb, yb = data if batch is None else batch
        return model(params, xb) - yb

    def loss(params: Any, batch: Any = None) -> Any:
        return jnp.mean(residuals(params, batch) ** 2)

    return Problem(
        name=name,
        loss=loss,
        init=init,
        description=description,
        dtype=dtype,
        residuals=residuals,
        data=data,
        batch_size=batch_size,
        bounds=bounds,
        search_box=search_box,
        f_opt=f_opt,
        x_opt=x_opt,
        predict=model,
        **extra,
    )
