"""A first comparison from a new process, as a user runs it: 3 curve fits x 4 methods x 3
seeds, 500 steps. optbench with a cold and a warm persistent compilation cache, beside two
references, each in a new process: the same comparison written with scipy.optimize on
numpy functions (what a user would otherwise write), and a minimal JAX script (one
``jax.jit`` per method and problem, seeds in a Python loop, no persistent cache). Prints
wall time, summed compile and run time, and programs compiled."""

import json
import subprocess
import sys
import time

from helpers import child_env
from timing import report

COMPARISON = """
import json, time
started = time.perf_counter()
import optbench
runs, _ = optbench.run(["sinusoidal", "quadratic", "linear"], ["lm", "adam", "bfgs", "nelder_mead"],
                       seeds=3, max_steps=500)
print(json.dumps({"wall": time.perf_counter() - started, "compile": float(runs["compile_s"].sum()),
                  "run": float(runs["time_s"].sum()), "programs": int((runs["compile_s"] > 0).sum()),
                  "from_cache": int(runs["cache_hit"].fillna(False).sum())}))
"""

# The three curves both reference scripts fit, put in place of their CURVES line (``xp``
# becomes numpy or jax.numpy).
CURVES = """curves = {
    "linear": (lambda p, x: p[0] * x + p[1], 2.0 * x - 1.0, 2),
    "quadratic": (lambda p, x: p[0] * x**2 + p[1] * x + p[2], 1.5 * x**2 - 2.0 * x + 0.5, 3),
    "sinusoidal": (lambda p, x: p[0] * xp.sin(xp.pi * x + p[1]), 2.0 * xp.sin(xp.pi * x + 0.5), 2),
}
"""

# The same 36 fits with scipy and numpy: least squares by MINPACK's LM, BFGS and
# Nelder-Mead on the mean squared residual, Adam by hand; the data as optbench makes them.
SCIPY = """
import json, time
started = time.perf_counter()
import numpy as np
from scipy.optimize import least_squares, minimize

rng = np.random.default_rng(0)
x = np.linspace(-1, 1, 100)
CURVES
for name, (model, truth, n) in curves.items():
    y = truth + 0.3 * rng.standard_normal(x.size)
    residuals = lambda p: model(p, x) - y
    loss = lambda p: np.mean(residuals(p) ** 2)
    for seed in range(3):
        x0 = np.random.default_rng(seed).uniform(-3, 3, n)
        least_squares(residuals, x0, method="lm", max_nfev=500)
        minimize(loss, x0, method="BFGS", options={"maxiter": 500})
        minimize(loss, x0, method="Nelder-Mead", options={"maxiter": 500})
        p, m, v = x0.copy(), np.zeros(n), np.zeros(n)
        for t in range(1, 501):
            eps = 1e-7
            g = np.array([(loss(p + eps * e) - loss(p - eps * e)) / (2 * eps) for e in np.eye(n)])
            m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
            p = p - 0.01 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
print(json.dumps({"wall": time.perf_counter() - started}))
"""


# The minimal JAX script: adam by optax in a lax.scan, Levenberg-Marquardt and Nelder-Mead
# as lax.fori_loops, BFGS by jax.scipy.optimize; one jit per method and problem.
JAX = """
import json, time
started = time.perf_counter()
import jax, jax.numpy as jnp, numpy as np, optax
from jax.scipy.optimize import minimize
jax.config.update("jax_enable_x64", True)

rng = np.random.default_rng(0)
x = jnp.linspace(-1, 1, 100)
CURVES

def methods(residuals):
    loss = lambda p: jnp.mean(residuals(p) ** 2)

    def adam(p):
        tx = optax.adam(0.01)
        def step(carry, _):
            p, s = carry
            u, s = tx.update(jax.grad(loss)(p), s, p)
            return (optax.apply_updates(p, u), s), None
        return jax.lax.scan(step, (p, tx.init(p)), None, length=500)[0][0]

    def lm(p):
        def step(_, carry):
            p, lam = carry
            r, J = residuals(p), jax.jacfwd(residuals)(p)
            A = J.T @ J
            q = p - jnp.linalg.solve(A + lam * jnp.diag(jnp.diag(A) + 1e-12), J.T @ r)
            better = loss(q) < loss(p)
            return jnp.where(better, q, p), jnp.where(better, lam / 3, lam * 2)
        return jax.lax.fori_loop(0, 500, step, (p, 1e-3))[0]

    def bfgs(p):
        return minimize(loss, p, method="BFGS", options={"maxiter": 500}).x

    def nelder_mead(p):
        n = p.size
        simplex = jnp.vstack([p, p + 0.05 * jnp.eye(n) * jnp.where(p == 0, 0.00025 / 0.05, p)])
        def step(_, s):
            f = jax.vmap(loss)(s)
            s = s[jnp.argsort(f)]
            f = jnp.sort(f)
            c = s[:-1].mean(0)
            r = c + (c - s[-1]); fr = loss(r)
            e = c + 2 * (c - s[-1]); fe = loss(e)
            k = c + 0.5 * (s[-1] - c); fk = loss(k)
            worst = jnp.where(fr < f[0], jnp.where(fe < fr, e, r), jnp.where(fr < f[-2], r, k))
            shrink = (fr >= f[-2]) & (fk >= f[-1])
            return jnp.where(shrink, s[0] + 0.5 * (s - s[0]), s.at[-1].set(worst))
        return jax.lax.fori_loop(0, 500, step, simplex)[0]

    return [jax.jit(m) for m in (adam, lm, bfgs, nelder_mead)]

for name, (model, truth, n) in curves.items():
    y = truth + 0.3 * rng.standard_normal(x.size)
    solvers = methods(lambda p: model(p, x) - y)
    for seed in range(3):
        x0 = jnp.asarray(np.random.default_rng(seed).uniform(-3, 3, n))
        for solve in solvers:
            jax.block_until_ready(solve(x0))
print(json.dumps({"wall": time.perf_counter() - started}))
"""
SCIPY = SCIPY.replace("CURVES\n", CURVES.replace("xp.", "np."))
JAX = JAX.replace("CURVES\n", CURVES.replace("xp.", "jnp."))


def _measure(script: str, cache) -> dict:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=child_env(cache), check=True
    )
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["process"] = time.perf_counter() - started
    return figures


def test_first_comparison_cold_and_warm_against_jax_and_scipy_scripts(benchmark, tmp_path):
    cache = tmp_path / "cache"
    cold = _measure(COMPARISON, cache)
    warm = _measure(COMPARISON, cache)
    scipy = _measure(SCIPY, cache)
    bare = _measure(JAX, cache)
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    for name, figures in (("cold cache", cold), ("warm cache", warm)):
        print(
            f"\n[first comparison, {name}] process {figures['process']:.1f} s (inside: {figures['wall']:.1f} s): "
            f"compile {figures['compile']:.1f} s over {figures['programs']} programs "
            f"({figures['from_cache']} from the cache), runs {figures['run']:.2f} s"
        )
    assert cold["from_cache"] == 0 and warm["from_cache"] == warm["programs"] > 0
    report(benchmark, "first comparison, cold cache vs minimal JAX script", cold["process"], bare["process"], "<= 2")
    report(benchmark, "first comparison, warm cache vs scipy script", warm["process"], scipy["process"], "<= 2")
    report(benchmark, "minimal JAX script vs scipy script", bare["process"], scipy["process"], "none")
