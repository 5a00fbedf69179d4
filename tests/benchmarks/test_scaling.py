"""The cost of work as work grows: time per step against data size, parameter count, seeds
and population size, each beside a bare JAX reference timed in the same run. Writes
``results/scaling.csv`` and the log-log plot ``results/scaling.png``.

- data: adam on ``linear[n=N]``, N = 1e2 ... 1e6; reference: a jitted ``lax.scan`` of
  optax's adam on the same loss.
- parameters: sgd (batches of 32) on ``mlp[hidden=W]``, 1e3 ... 1e6 parameters;
  reference: a jitted scan of the same minibatch steps (optbench also measures the full
  training loss at the start, after steps 16, 32 and 64, and at the end).
- seeds: S = 1 ... 1,024 runs of adam on ``sinusoidal``, each on its own; reference: one
  ``vmap``-ed scan of S seeds (what batching would give, at the cost of numbers that
  depend on the batch; see the reproducibility note in ``optbench.drive.loop``).
- population: a generation of ``ga`` on ``sinusoidal`` and of ``nsga2`` on ``zdt1``,
  P = 100 ... 10,000; reference: one jitted evaluation of P points (the least a
  generation costs).
"""

import csv
import functools
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
from timing import best_time

import optbench
from optbench.optimizers.first_order import minibatch
from optbench.registry import REGISTRY

RESULTS = Path(__file__).resolve().parents[2] / "results"


def _per_step(result) -> float:
    return result.time_s / max(result.nit, 1)


def _scan(step, n):
    return jax.jit(lambda c: jax.lax.scan(lambda c, _: (step(c), None), c, None, length=n)[0])


def _call_time(fn, argument, rounds):
    """The best time of ``fn(argument)``, after one call that compiles it."""
    jax.block_until_ready(fn(argument))
    return best_time(functools.partial(_ready, fn, argument), rounds)


def _ready(fn, argument):
    return jax.block_until_ready(fn(argument))


def _adam_step(problem, transform):
    def step(c):
        p, s = c
        g = jax.grad(problem.value)(p, problem.data)
        u, s = transform.update(g, s, p)
        return optax.apply_updates(p, u), s

    return step


def _sgd_step(problem, transform, key):
    def step(c):
        p, s, i = c
        g = jax.grad(problem.value)(p, minibatch(problem.data, key, i, 32))
        u, s = transform.update(g, s, p)
        return optax.apply_updates(p, u), s, i + 1

    return step


def _data_size():
    rows = []
    for n in (100, 1_000, 10_000, 100_000, 1_000_000):
        problem, steps = REGISTRY.problem(f"linear[n={n}]"), 2000
        optbench.minimize(problem, "adam", max_steps=steps)  # compiled here, timed below
        ours = min(_per_step(optbench.minimize(problem, "adam", max_steps=steps)) for _ in range(3))
        transform = optax.adam(0.01)
        params = problem.init_params(jax.random.PRNGKey(0))
        bare = _scan(_adam_step(problem, transform), steps)
        rows.append(("data points", n, ours, _call_time(bare, (params, transform.init(params)), 3) / steps))
    return rows


def _parameters():
    rows = []
    for width in (16, 128, 1024, 13_333):
        problem, steps = REGISTRY.problem(f"mlp[hidden={width}]"), 64
        optbench.minimize(problem, "sgd", max_steps=steps)
        ours = min(_per_step(optbench.minimize(problem, "sgd", max_steps=steps)) for _ in range(2))
        transform = optax.sgd(0.05)
        params = problem.init_params(jax.random.PRNGKey(0))
        bare = _scan(_sgd_step(problem, transform, jax.random.PRNGKey(1)), steps)
        carry = (params, transform.init(params), jnp.zeros((), jnp.int32))
        reference = _call_time(bare, carry, 2) / steps
        rows.append(("parameters", problem.n_params, ours, reference))
    return rows


def _seeds():
    rows = []
    problem, steps = REGISTRY.problem("sinusoidal"), 500
    transform = optax.adam(0.01)

    step = _adam_step(problem, transform)

    def one(seed):
        params = problem.init_params(jax.random.PRNGKey(seed))
        return jax.lax.scan(lambda c, _: (step(c), None), (params, transform.init(params)), None, length=steps)[0]

    batched = jax.jit(jax.vmap(one))
    optbench.minimize(problem, "adam", max_steps=steps)
    for count in (1, 4, 16, 64, 256, 1024):
        started = time.perf_counter()
        results = [optbench.minimize(problem, "adam", seed=s, max_steps=steps) for s in range(count)]
        wall = time.perf_counter() - started
        ours = sum(r.time_s for r in results) / (count * steps)
        reference = _call_time(batched, jnp.arange(count), 2) / (count * steps)
        rows.append(("seeds (per seed-step)", count, ours, reference))
        rows.append(("seeds, whole call (per seed-step)", count, wall / (count * steps), reference))
    return rows


def _population():
    rows = []
    for name, problem_name, evaluate in (
        ("ga", "sinusoidal", lambda p: jax.vmap(lambda v: p.value(unravel(p)(v), p.data))),
        ("nsga2", "zdt1", lambda p: jax.vmap(lambda v: p.objectives(unravel(p)(v)))),
    ):
        problem = REGISTRY.problem(problem_name)
        lower, upper = (np.asarray(jax.flatten_util.ravel_pytree(b)[0]) for b in problem.bounds)
        for size in (100, 1_000, 10_000):
            generations = 20 if size < 10_000 else 5
            spec = f"{name}[pop_size={size}]"
            optbench.minimize(problem, spec, max_steps=generations)
            ours = _per_step(optbench.minimize(problem, spec, max_steps=generations))
            points = jnp.asarray(np.random.default_rng(0).uniform(lower, upper, (size, lower.size)))
            reference = _call_time(jax.jit(evaluate(problem)), points, 3)
            rows.append((f"population ({name}, per generation)", size, ours, reference))
    return rows


def unravel(problem):
    from optbench.flat_problem import unravel_for

    return unravel_for(problem)


def _plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    axes_names = list(dict.fromkeys(r[0] for r in rows))
    ncols = 3
    nrows = -(-len(axes_names) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.4 * ncols, 3.6 * nrows), layout="constrained", squeeze=False)
    for ax in axes.flat[len(axes_names) :]:
        ax.set_visible(False)
    for ax, axis in zip(axes.flat, axes_names):
        mine = [r for r in rows if r[0] == axis]
        sizes = [r[1] for r in mine]
        ax.loglog(sizes, [r[2] for r in mine], "o-", label="optbench")
        ax.loglog(sizes, [r[3] for r in mine], "s--", label="bare JAX")
        ax.set_title(axis, fontsize="medium")
        ax.set_xlabel("size")
        ax.set_ylabel("seconds")
        ax.legend(fontsize="small")
    fig.savefig(path, dpi=110)
    plt.close(fig)


def test_cost_per_step_as_work_grows(benchmark):
    rows = _data_size() + _parameters() + _seeds() + _population()
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    RESULTS.mkdir(exist_ok=True)
    with open(RESULTS / "scaling.csv", "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["axis", "size", "optbench_s", "reference_s", "ratio"])
        for axis, size, ours, reference in rows:
            writer.writerow([axis, size, f"{ours:.4g}", f"{reference:.4g}", f"{ours / reference:.3g}"])
    _plot(rows, RESULTS / "scaling.png")
    print("\n| axis | size | optbench (s) | bare JAX (s) | ratio |\n|---|---|---|---|---|")
    for axis, size, ours, reference in rows:
        print(f"| {axis} | {size:,} | {ours:.3g} | {reference:.3g} | {ours / reference:.2f} |")
    benchmark.extra_info["rows"] = [list(map(str, r)) for r in rows]
    assert all(np.isfinite(r[2]) and r[2] > 0 for r in rows)
