"""Evolution strategies: evosax's in optbench's loop (evosax_*) and pycma's CMA-ES (cma_es)
as the CPU reference: BBOB targets, every evaluation counted, budgets, reproducibility."""

import numpy as np
import pytest
from helpers import refused

import optbench
from optbench.result import Status

pytest.importorskip("evosax", reason="the evosax strategies need evosax (optbench[jax-solvers])")


class Counted:
    """A vectorized numpy sphere that counts the points it is asked about, and its calls."""

    def __init__(self):
        self.points = self.calls = 0

    def __call__(self, x):
        self.calls += 1
        self.points += len(x)
        return np.sum((x - 0.5) ** 2, axis=1)


@pytest.mark.parametrize("name", ["evosax_cma_es", "evosax_de", "evosax_pso", "evosax_open_es", "cma_es"])
def test_a_black_box_population_is_one_call_and_every_point_is_counted(name):
    fn = Counted()
    problem = optbench.black_box_problem("np_sphere", fn, x0=np.zeros(4), bounds=(-5, 5), vectorized=True, f_opt=0.0)
    result = optbench.minimize(problem, f"{name}[pop_size=20]", max_evals=2000)
    # OpenAI-ES keeps its step size (0.02 of the box's width): its best sample stays about that far away.
    assert result.nfev == fn.points and result.fun < (0.05 if name == "evosax_open_es" else 1e-4)
    # One call a generation, and one for the first population (evosax's CMA-ES: its first mean).
    assert fn.calls == result.nit + 1
    if result.status is Status.MAX_EVALS:  # pycma may meet its own stopping tests first
        assert 2000 <= result.nfev < 2000 + 20  # a generation ends where it crosses the budget


@pytest.mark.parametrize(("name", "function", "tolerance"), [
    ("evosax_cma_es", 8, 1e-8),  # Rosenbrock: the issue measured 4e-30 at 100,000 evaluations
    ("cma_es", 8, 1e-8),
    ("evosax_cma_es", 10, 1e-8),  # the ill-conditioned ellipsoid: covariance learning's showcase
    ("cma_es", 10, 1e-8),
    ("evosax_de", 1, 1e-5),  # the sphere
    ("evosax_pso", 1, 1e-5),
    ("evosax_sep_cma_es", 1, 1e-8),
])  # fmt: skip
def test_evolution_strategies_reach_bbob_targets_in_ten_dimensions(name, function, tolerance):
    spec = f"bbob_f{function}[dim=10]"
    result = optbench.minimize(spec, name, max_evals=20_000)
    assert result.fun - optbench.make_problem(spec).f_opt < tolerance, (name, spec, result.fun, result.message)


@pytest.mark.parametrize("name", ["evosax_cma_es", "evosax_sep_cma_es", "evosax_de", "evosax_pso"])
def test_the_strategies_stop_where_pycma_would_and_evaluate_nothing_more(name):
    # The sphere: the spread or the losses collapse long before 100,000 evaluations, as
    # pycma's own run (TolFun) does.
    reference = optbench.minimize("bbob_f1[dim=5]", "cma_es", max_evals=100_000)
    result = optbench.minimize("bbob_f1[dim=5]", name, max_evals=100_000)
    assert reference.status is result.status is Status.CONVERGED
    assert result.nfev < 30_000 and result.fun - optbench.make_problem("bbob_f1[dim=5]").f_opt < 1e-9
    # The converged state evaluates no further population: init's, then one per step.
    first = 1 if "cma" in name else 50  # the mean; DE's and PSO's population of 10 n
    assert result.nfev == first + result.nit * (8 if "cma" in name else 50)


@pytest.mark.parametrize(("name", "pop_size", "first"), [("evosax_cma_es", 8, 1), ("evosax_de", 20, 20)])
def test_on_a_flat_function_the_run_stops_after_pycmas_history_of_generations(name, pop_size, first):
    problem = optbench.black_box_problem("flat", lambda x: 1.0, x0=np.zeros(4), bounds=(-5, 5))
    result = optbench.minimize(problem, f"{name}[pop_size={pop_size}]", max_evals=10_000)
    history = 10 + int(np.ceil(30 * 4 / pop_size))  # pycma's TolFun: 10 + 30 n / P generations
    assert result.status is Status.CONVERGED and result.nit == history
    assert result.nfev == first + history * pop_size


def test_ipop_restarts_double_the_population_and_a_run_is_reproducible():
    before = np.random.get_state()[1].copy()
    one = optbench.minimize("bbob_f15[dim=5]", "cma_es[restarts=4]", max_evals=6000, seed=3)
    again = optbench.minimize("bbob_f15[dim=5]", "cma_es[restarts=4]", max_evals=6000, seed=3)
    assert np.array_equal(before, np.random.get_state()[1])  # pycma's seeding leaves numpy's generator alone
    assert (one.fun, one.nfev) == (again.fun, again.nfev)
    sizes = np.diff(one.trace["nfev"].to_numpy())
    assert {8, 16, 32} <= set(sizes)  # 4 + 3 ln 5 = 8, then doubled at each restart
    ours = [optbench.minimize("bbob_f8[dim=5]", "evosax_cma_es", max_evals=3000, seed=s).fun for s in (1, 1, 2)]
    assert ours[0] == ours[1] != ours[2]


def test_without_evosax_the_strategies_say_what_to_install(monkeypatch, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "evosax" else real(name, *a))
    refused(
        ["run", "-p", "quadratic", "-o", "evosax_cma_es", "--db", "/nonexistent/x.sqlite"], capsys, "pip install evosax"
    )
