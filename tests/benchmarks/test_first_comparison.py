"""A first comparison from a new process, as a user runs it: 3 curve fits x 4 methods x 3
seeds, 500 steps. optbench with a cold and a warm persistent compilation cache, beside the
same comparison written with scipy.optimize on numpy functions (what a user would
otherwise write). Prints wall time, summed compile and run time, and programs compiled."""

import json
import os
import subprocess
import sys
import time

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

# The same 36 fits with scipy and numpy: least squares by MINPACK's LM, BFGS and
# Nelder-Mead on the mean squared residual, Adam by hand; the data as optbench makes them.
SCIPY = """
import json, time
started = time.perf_counter()
import numpy as np
from scipy.optimize import least_squares, minimize

rng = np.random.default_rng(0)
x = np.linspace(-1, 1, 100)
curves = {
    "linear": (lambda p, x: p[0] * x + p[1], 2.0 * x - 1.0, 2),
    "quadratic": (lambda p, x: p[0] * x**2 + p[1] * x + p[2], 1.5 * x**2 - 2.0 * x + 0.5, 3),
    "sinusoidal": (lambda p, x: p[0] * np.sin(np.pi * x + p[1]), 2.0 * np.sin(np.pi * x + 0.5), 2),
}
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


def _measure(script: str, cache) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_") or k == "JAX_ENABLE_X64"}
    env["OPTBENCH_CACHE_DIR"] = str(cache)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["process"] = time.perf_counter() - started
    return figures


def test_first_comparison_cold_and_warm_against_scipy(benchmark, tmp_path):
    cache = tmp_path / "cache"
    cold = _measure(COMPARISON, cache)
    warm = _measure(COMPARISON, cache)
    scipy = _measure(SCIPY, cache)
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    for name, figures in (("cold cache", cold), ("warm cache", warm)):
        print(
            f"\n[first comparison, {name}] process {figures['process']:.1f} s (inside: {figures['wall']:.1f} s): "
            f"compile {figures['compile']:.1f} s over {figures['programs']} programs "
            f"({figures['from_cache']} from the cache), runs {figures['run']:.2f} s"
        )
    assert cold["from_cache"] == 0 and warm["from_cache"] == warm["programs"] > 0
    report(
        benchmark, "first comparison, cold cache vs scipy script", cold["process"], scipy["process"], "<= 2 (vs JAX)"
    )
    report(benchmark, "first comparison, warm cache vs scipy script", warm["process"], scipy["process"], "<= 2")
