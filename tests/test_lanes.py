"""Lanes: runs that share a compiled program execute side by side as lanes of one ``vmap``,
and each lane keeps the numbers it has alone: whatever its companions hold (other seeds,
other learning rates), in whichever lane it sits, padded or full, and whichever of them
stop first, for whatever reason."""

import json

import jax
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import optbench
from optbench.drive import loop
from optbench.drive.run_one import Built
from optbench.optimizer_config import optimizer_configs
from optbench.registry import REGISTRY

# (problem, optimizer grid, budget): one per family of native solvers that runs in lanes.
CASES = [
    ("sinusoidal[n=100]", "adam[learning_rate=[0.01,0.1]]", {"max_steps": 300}),
    ("nist_misra1a", "lm", {"max_steps": 200}),
    ("linear", "gauss_newton", {"max_steps": 20}),
    ("cutest_rosenbr", "bfgs", {"max_steps": 200}),
    ("quadratic", "lbfgs[memory=5]", {"max_steps": 200}),
    ("quadratic", "nelder_mead", {"max_evals": 400}),
    ("logistic_2d", "momentum[learning_rate=[0.1,1.0]]", {"max_steps": 200}),
    # optimistix's solvers in optbench's loop, over a tolerance grid
    ("nist_misra1a", "optx_lm[rtol=[1e-8,1e-6]]", {"max_steps": 200}),
    ("nist_thurber", "optx_dogleg", {"max_steps": 100}),
    ("cutest_rosenbr", "optx_bfgs[atol=[1e-8,1e-4]]", {"max_steps": 200}),
    ("quadratic", "optx_nelder_mead", {"max_evals": 400}),
]


def _numbers(result):
    """Everything a run's numbers are: how it ended, its counts, loss, point and trace (its
    times apart)."""
    x = None if result.x is None else np.concatenate([np.ravel(a) for a in jax.tree_util.tree_leaves(result.x)])
    trace = result.trace.drop(columns=["time_s"])
    return result.status, result.nit, result.nfev, result.njev, float(result.fun).hex(), x, trace


def _assert_same(a, b):
    assert a[:5] == b[:5]
    np.testing.assert_array_equal(a[5], b[5])
    assert a[6].equals(b[6]), (a[6], b[6])


def _case(index):
    problem_spec, optimizer_spec, budget = CASES[index]
    problem = REGISTRY.problem(problem_spec)
    configs = optimizer_configs(optimizer_spec)
    return problem, configs, Built.from_config(configs[0]), optbench.Budget(**budget)


def _run(problem, built, budget, lanes):
    return loop.run_lanes(problem, built.build, built.key, lanes, budget)


@pytest.mark.parametrize("index", range(len(CASES)), ids=[f"{c[1]} on {c[0]}" for c in CASES])
def test_each_family_runs_in_lanes_of_a_fixed_width(index):
    problem, _, built, _ = _case(index)
    assert loop.lane_width(problem, built.solver) == (64 if jax.default_backend() == "gpu" else loop.LANES_ON_CPU)


@settings(max_examples=35, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    index=st.integers(0, len(CASES) - 1),
    seed=st.integers(0, 2**31 - 1),
    companions=st.lists(st.tuples(st.integers(0, 2**31 - 1), st.integers(0, 1)), max_size=loop.LANES_ON_CPU - 1),
    position=st.integers(0, loop.LANES_ON_CPU - 1),
    grid_point=st.integers(0, 1),
)
def test_a_lane_has_the_numbers_of_its_run_alone_whatever_its_companions_and_place(
    index, seed, companions, position, grid_point
):
    problem, configs, built, budget = _case(index)
    mine = loop.Lane(configs[grid_point % len(configs)].floats, seed)
    others = [loop.Lane(configs[g % len(configs)].floats, s) for s, g in companions]
    position = min(position, len(others))
    batch = [*others[:position], mine, *others[position:]]
    alone = _run(problem, built, budget, [mine])[0]
    together = _run(problem, built, budget, batch)
    _assert_same(_numbers(together[position]), _numbers(alone))
    assert all(r.lanes == loop.LANES_ON_CPU for r in together) or jax.default_backend() == "gpu"


def test_lanes_that_stop_for_different_reasons_keep_their_own_counts_and_traces():
    # gd on the quadratic fit: a tiny step runs out of steps, a good one reaches the
    # target, a huge one diverges; each lane's numbers are its run's alone.
    problem = REGISTRY.problem("quadratic")
    configs = optimizer_configs("gd[learning_rate=[1e-4,0.3,50.0]]")
    built = Built.from_config(configs[0])
    budget = optbench.Budget(max_steps=400, target=0.24)
    lanes = [loop.Lane(config.floats, 0) for config in configs]
    together = _run(problem, built, budget, lanes)
    assert [r.status.value for r in together] == ["max_steps", "target_reached", "diverged"]
    assert len({r.nit for r in together}) == 3  # they stopped at three different steps
    assert len({len(r.trace) for r in together}) == 3
    for lane, result in zip(lanes, together):
        _assert_same(_numbers(result), _numbers(_run(problem, built, budget, [lane])[0]))


def test_a_lone_minimize_has_the_numbers_of_the_same_run_in_a_suite():
    alone = optbench.minimize("sinusoidal[n=100]", "adam", seed=3, max_steps=200)
    runs, traces = optbench.run("sinusoidal[n=100]", "adam", seeds=6, max_steps=200)
    row = runs[runs["seed"] == 3].iloc[0]
    assert float(row["fun"]).hex() == float(alone.fun).hex() and row["nfev"] == alone.nfev
    stored = traces[traces["run_id"] == row["run_id"]]["loss"].to_numpy()
    np.testing.assert_array_equal(stored, alone.trace["loss"].to_numpy())


def test_the_width_is_stored_with_each_run_and_runs_alone_say_one():
    runs, _ = optbench.run(["quadratic"], ["adam", "ga[pop_size=20]", "scipy_bfgs"], seeds=2, max_steps=20)
    width = dict(zip(runs["optimizer"], runs["batch_size"]))
    lanes = 64 if jax.default_backend() == "gpu" else loop.LANES_ON_CPU
    assert width["adam"] == lanes
    assert width["scipy_bfgs"] == 1  # a library's loop: one run at a time
    assert width["ga[pop_size=20]"] == (lanes if jax.default_backend() == "gpu" else 1)


@pytest.mark.skipif(jax.default_backend() == "gpu", reason="on a GPU every native program has 64 lanes")
def test_on_a_cpu_lanes_are_for_problems_whose_evaluation_is_small():
    # XLA's count for linear's mean squared error, by hand: per point a multiply and an
    # add for the model, a subtraction, a square and the sum's add, 5 flops; sinusoidal's
    # model a sin(x + b): an add and a multiply around a sine (20), beside the same 3.
    assert loop.evaluation_flops(REGISTRY.problem("linear[n=1000]")) == 5 * 1000
    assert loop.evaluation_flops(REGISTRY.problem("sinusoidal[n=100]")) == (5 + 20) * 100
    solver = Built.from_config(optimizer_configs("adam")[0]).solver
    width = {spec: loop.lane_width(REGISTRY.problem(spec), solver) for spec in (
        "linear", "linear[n=4000]", "linear[n=4001]", "sinusoidal[n=100]", "sinusoidal[n=1000]", "logistic",
    )}  # fmt: skip
    assert width == {"linear": 4, "linear[n=4000]": 4, "linear[n=4001]": 1, "sinusoidal[n=100]": 4,
                     "sinusoidal[n=1000]": 1, "logistic": 1}  # fmt: skip


def test_a_lane_is_timed_as_its_share_of_the_execution_it_shared():
    runs, _ = optbench.run("sinusoidal[n=100]", ["adam", "scipy_bfgs"], seeds=3, max_steps=50)
    lanes = runs[runs["optimizer"] == "adam"]
    # Three runs in one execution: each is a third of it, and all three name the same wall time.
    assert lanes["batch_time_s"].nunique() == 1
    np.testing.assert_allclose(lanes["time_s"] * 3, lanes["batch_time_s"], rtol=1e-12)
    alone = runs[runs["optimizer"] == "scipy_bfgs"]  # a library's loop: each run is its own batch
    np.testing.assert_array_equal(alone["time_s"], alone["batch_time_s"])


def test_a_step_is_timed_to_the_lanes_running_at_it():
    # Three steps of 1 s over two lanes: both run the first (0.5 s each), the first lane
    # alone the second, none the third, a masked step, which goes to the lane that ran last.
    running = np.array([[True, True], [True, False], [False, False]])
    np.testing.assert_allclose(loop.lane_shares(running, 3.0), [[0.5, 0.5], [1.0, 0.0], [1.0, 0.0]])
    # Every step shared by four lanes, then two of them alone.
    running = np.array([[True] * 4, [True, True, False, False]])
    np.testing.assert_allclose(loop.lane_shares(running, 2.0).sum(axis=0), [0.75, 0.75, 0.25, 0.25])


def test_a_lane_that_stops_early_is_not_charged_for_the_steps_of_the_lanes_that_go_on():
    # gd on the quadratic fit: a huge step diverges within a few steps, a tiny one runs
    # its 2,000; they share one execution, and the long run holds nearly all of its time.
    problem = REGISTRY.problem("quadratic")
    configs = optimizer_configs("gd[learning_rate=[1e-4,50.0]]")
    built = Built.from_config(configs[0])
    long, short = _run(problem, built, optbench.Budget(max_steps=2000), [loop.Lane(c.floats, 0) for c in configs])
    assert (long.status.value, short.status.value) == ("max_steps", "diverged") and short.nit < 16
    assert long.batch_time_s == short.batch_time_s
    assert long.time_s + short.time_s == pytest.approx(long.batch_time_s, rel=1e-9)
    assert short.time_s < long.time_s
    # Within a chunk its time is spread evenly over its steps: the short run shared a few
    # of the 2,000, so its clock, before the final program's share, ends near nothing.
    assert short.trace["time_s"].iloc[-1] < 0.01 * long.trace["time_s"].iloc[-1]
    for result in (long, short):  # the trace's clock is the run's own, and ends within its time
        times = result.trace["time_s"].to_numpy()
        assert (np.diff(times) > 0).all() and times[-1] <= result.time_s


def test_a_library_run_holds_blas_to_one_thread_and_each_run_records_its_threads():
    from threadpoolctl import threadpool_info

    from optbench.result import Status
    from optbench.solver import HostSolver

    seen = []

    class Watches(HostSolver):
        def solve(self, bridge, x0):
            seen.append({lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"})
            return x0, Status.CONVERGED, "looked"

    result = optbench.minimize("quadratic", Watches())
    assert result.status is Status.CONVERGED and seen == [{1}]
    runs, _ = optbench.run("quadratic", ["adam", "scipy_bfgs"], max_steps=5)
    threads = [json.loads(t) for t in runs["threads"]]
    assert all(t["blas"] == 1 and t["xla"] >= 1 for t in threads)


def test_a_problem_that_calls_back_to_python_runs_alone():
    # Under vmap its callback would run for every lane and for both branches of a cond.
    calls = []
    bowl = optbench.Problem(
        "bowl_calls_back", lambda x: (jax.debug.callback(calls.append, x), jax.numpy.sum(x**2))[1], init=np.ones(3)
    )
    plain = optbench.Problem("bowl", lambda x: jax.numpy.sum(x**2), init=np.ones(3))
    adam = Built.from_config(optimizer_configs("adam")[0]).solver
    assert loop.lane_width(bowl, adam) == 1
    assert loop.lane_width(plain, adam) == (64 if jax.default_backend() == "gpu" else loop.LANES_ON_CPU)


@pytest.mark.parametrize(
    ("problem_spec", "optimizer_spec"),
    [("sinusoidal", "ga[pop_size=20]"), ("sinusoidal", "evosax_cma_es"), ("quadratic", "evosax_de")],
)
def test_population_methods_keep_their_numbers_in_lanes_as_on_a_gpu(monkeypatch, problem_spec, optimizer_spec):
    # On a CPU a population runs alone (width 1); on a GPU it is a lane of 64. Forced to
    # the CPU's width of 4 here: a lane's numbers are its run's alone at that width.
    if optimizer_spec.startswith("evosax"):
        pytest.importorskip("evosax", reason="the evosax strategies need evosax (optbench[jax-solvers])")
    monkeypatch.setattr(loop, "lane_width", lambda problem, solver: loop.LANES_ON_CPU)
    problem = REGISTRY.problem(problem_spec)
    configs = optimizer_configs(optimizer_spec)
    built, budget = Built.from_config(configs[0]), optbench.Budget(max_evals=1500)
    mine = loop.Lane(configs[0].floats, 7)
    alone = _run(problem, built, budget, [mine])[0]
    for seeds, position in [((1, 2, 3), 2), ((11,), 0), ((5, 9), 1)]:
        others = [loop.Lane(configs[0].floats, s) for s in seeds]
        together = _run(problem, built, budget, [*others[:position], mine, *others[position:]])
        assert together[position].lanes == loop.LANES_ON_CPU
        _assert_same(_numbers(together[position]), _numbers(alone))
