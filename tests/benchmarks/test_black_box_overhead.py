"""A cheap numpy objective through optbench against scipy's Nelder-Mead calling it directly:
the overhead per evaluation of optbench's bridge (scipy_nelder_mead) and of the host
callback inside the compiled loop (nelder_mead)."""

import numpy as np
from scipy.optimize import minimize
from timing import best_time, report

import optbench

DIM, EVALS = 6, 1000


def rosenbrock(x):
    return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))


def _direct():
    options = {"maxfev": EVALS, "maxiter": EVALS, "xatol": 1e-300, "fatol": 1e-300}
    return minimize(rosenbrock, np.zeros(DIM), method="Nelder-Mead", options=options)


def test_black_box_per_evaluation_against_scipy_calling_it_directly(benchmark):
    problem = optbench.black_box_problem("np_rosenbrock_bench", rosenbrock, x0=np.zeros(DIM))
    spec = "scipy_nelder_mead[xatol=1e-300,fatol=1e-300]"
    reference = _direct()
    ours = optbench.minimize(problem, spec, max_evals=EVALS)
    assert ours.nfev == reference.nfev == EVALS  # the same evaluations, so time per evaluation compares
    native_evals = optbench.minimize(problem, "nelder_mead[xatol=0,fatol=0]", max_evals=EVALS).nfev  # compiled now

    def bridge():
        optbench.minimize(problem, spec, max_evals=EVALS)

    def native():
        optbench.minimize(problem, "nelder_mead[xatol=0,fatol=0]", max_evals=EVALS)

    benchmark.pedantic(bridge, rounds=3, iterations=1)
    direct_s = best_time(_direct, 3)
    report(benchmark, f"black box through scipy_nelder_mead, {EVALS:,} evaluations", best_time(bridge, 3), direct_s,
           "state it")  # fmt: skip
    report(benchmark, f"black box through native nelder_mead (host callback), {EVALS:,} evaluations",
           best_time(native, 3) * EVALS / native_evals, direct_s, "state it")  # fmt: skip
