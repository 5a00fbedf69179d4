"""The JAX-to-scipy bridge: cost per evaluation against a numpy objective for the same fit."""

import numpy as np
from timing import best_time, report

from optbench.budget import Budget
from optbench.drive.bridge import Bridge
from optbench.registry import REGISTRY

CALLS = 2000


def test_bridge_value_and_grad_against_numpy(benchmark):
    problem = REGISTRY.problem("sinusoidal_wave[n=1000]")
    x, y = (np.asarray(a) for a in problem.data)
    bridge = Bridge(problem, Budget(max_evals=10**9), None, 0, ("value_and_grad",))
    point = bridge.x0 + 0.1

    def numpy_value_and_grad(p):
        a, b, c, w = p  # ravel order of the dict {"a", "b", "c", "w"}
        phase = w * x + b
        s = np.sin(phase)
        r = a * s + c - y
        dc = 2 * r / len(x)
        grad = np.array([dc @ s, dc @ (a * np.cos(phase)), dc.sum(), dc @ (a * np.cos(phase) * x)])
        return float(np.mean(r**2)), grad

    ours_loss, ours_grad = bridge.fun_and_grad(point)
    ref_loss, ref_grad = numpy_value_and_grad(point)
    assert abs(ours_loss - ref_loss) <= 1e-12 * ref_loss
    np.testing.assert_allclose(ours_grad, ref_grad, rtol=1e-9)
    ours = lambda: [bridge.fun_and_grad(point) for _ in range(CALLS)]
    reference = lambda: [numpy_value_and_grad(point) for _ in range(CALLS)]
    benchmark.pedantic(ours, rounds=3, iterations=1)
    report(
        benchmark,
        "bridge value+grad per call vs numpy, 1000-point fit",
        best_time(ours, 3) / CALLS,
        best_time(reference, 3) / CALLS,
        "<= 1.5",
    )
