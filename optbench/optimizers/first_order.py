"""First-order methods: optax gradient transformations driven by the shared loop."""

from __future__ import annotations

from typing import Any, NamedTuple

from optbench.errors import SpecError
from optbench.problem import Problem
from optbench.registry import register_optimizer
from optbench.solver import NativeSolver, StepInfo
from optbench.tuning.space import log_range, one_minus_log_range


class _State(NamedTuple):
    params: Any
    opt_state: Any
    key: Any
    step: Any


class FirstOrder(NativeSolver):
    """Gradient steps of an optax transformation, full batch or on minibatches.

    Args:
        transform: the optax ``GradientTransformation`` that turns gradients into updates.
        batch_size: None for full-batch gradients; otherwise minibatches of this size,
            drawn without replacement within each epoch (a fresh permutation per epoch).
    """

    def __init__(self, transform: Any, batch_size: int | None = None):
        self.transform = transform
        self.batch_size = batch_size
        self.full_loss_each_step = batch_size is None

    def init(self, problem: Problem, data: Any, params: Any, key: Any) -> _State:
        import jax.numpy as jnp

        if self.batch_size is not None:
            n = problem.n_examples
            if n is None or not problem.takes_batch:
                raise ValueError(f"problem {problem.name!r} has no data to draw minibatches from")
            if self.batch_size > n:
                raise ValueError(f"batch_size {self.batch_size} exceeds the {n} training examples")
        return _State(params, self.transform.init(params), key, jnp.zeros((), jnp.int32))

    def step(self, problem: Problem, data: Any, state: _State) -> tuple[_State, StepInfo]:
        import jax
        import optax

        # A minibatch step evaluates its minibatch only: the full training loss, which the
        # method never sees, is measured by the harness on the metrics' schedule.
        batch = data if self.batch_size is None else minibatch(data, state.key, state.step, self.batch_size)
        loss, grad = jax.value_and_grad(problem.value)(state.params, batch)
        updates, opt_state = self.transform.update(grad, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        return _State(params, opt_state, state.key, state.step + 1), StepInfo(loss, 1, 1, False)

    def params(self, state: _State) -> Any:
        return state.params

    def epochs_per_evaluation(self, problem: Problem) -> float:
        return 1.0 if self.batch_size is None else self.batch_size / problem.n_examples


def minibatch(data: Any, key: Any, step: Any, batch_size: int) -> Any:
    """The minibatch for ``step``: epoch ``e`` visits a permutation of the examples drawn
    from ``fold_in(key, e)``, in consecutive slices; the incomplete last slice is dropped."""
    import jax

    n = jax.tree_util.tree_leaves(data)[0].shape[0]
    per_epoch = n // batch_size
    epoch, index = step // per_epoch, step % per_epoch
    order = jax.random.permutation(jax.random.fold_in(key, epoch), n)
    rows = jax.lax.dynamic_slice_in_dim(order, index * batch_size, batch_size)
    return jax.tree_util.tree_map(lambda a: a[rows], data)


@register_optimizer("gd", space={"learning_rate": log_range(1e-4, 10.0)})
def gd(learning_rate: float = 0.1) -> Any:
    """Full-batch gradient descent, x <- x - lr * grad f(x) (Cauchy 1847; Nocedal & Wright, sec. 3.1)."""
    import optax

    return optax.sgd(learning_rate)


@register_optimizer("sgd", requires=("grad", "minibatch"), space={"learning_rate": log_range(1e-4, 1.0)})
def sgd(learning_rate: float = 0.05, batch_size: int = 32) -> FirstOrder:
    """Stochastic gradient descent on minibatches drawn per epoch (Robbins & Monro 1951)."""
    import optax

    if batch_size < 1:
        raise SpecError(f"batch_size must be at least 1, got {batch_size}")
    return FirstOrder(optax.sgd(learning_rate), batch_size=batch_size)


@register_optimizer("momentum", space={"learning_rate": log_range(1e-4, 1.0), "beta": one_minus_log_range(0.5, 0.999)})
def momentum(learning_rate: float = 0.05, beta: float = 0.9, nesterov: bool = False) -> Any:
    """Full-batch heavy-ball momentum (Polyak 1964), or Nesterov's accelerated form (Nesterov 1983)."""
    import optax

    return optax.sgd(learning_rate, momentum=beta, nesterov=nesterov)


@register_optimizer("adam", space={"learning_rate": log_range(1e-5, 1.0), "b1": one_minus_log_range(0.5, 0.99)})
def adam(learning_rate: float = 0.01, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> Any:
    """Full-batch Adam, adaptive moment estimation (Kingma & Ba 2015, arXiv:1412.6980)."""
    import optax

    return optax.adam(learning_rate, b1=b1, b2=b2, eps=eps)


@register_optimizer("rmsprop", space={"learning_rate": log_range(1e-5, 1.0), "decay": one_minus_log_range(0.5, 0.999)})
def rmsprop(learning_rate: float = 0.01, decay: float = 0.9, eps: float = 1e-8, centered: bool = False) -> Any:
    """Full-batch RMSProp, steps scaled by a running RMS of gradients (Tieleman & Hinton 2012)."""
    import optax

    return optax.rmsprop(learning_rate, decay=decay, eps=eps, centered=centered)


@register_optimizer("adadelta", space={"learning_rate": log_range(1e-3, 10.0), "rho": one_minus_log_range(0.5, 0.999)})
def adadelta(learning_rate: float = 1.0, rho: float = 0.9, eps: float = 1e-6) -> Any:
    """Full-batch Adadelta, unit-corrected adaptive steps (Zeiler 2012, arXiv:1212.5701)."""
    import optax

    return optax.adadelta(learning_rate, rho=rho, eps=eps)
