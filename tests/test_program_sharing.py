"""Fewer programs: runs that differ only in data or starting point share one compiled
program; the programs of a suite compile on several threads at once; a short run computes
no steps past its budget. Each with the same numbers as without sharing."""

import contextlib
import functools

import jax
import numpy as np
import pytest

import optbench
from optbench.drive import loop
from optbench.registry import REGISTRY
from optbench.result import Status

COMPILE = "/jax/core/compile/backend_compile_duration"  # XLA compiles (or reads from the persistent cache)
LOWER = "/jax/core/compile/jaxpr_to_mlir_module_duration"  # JAX traced and lowered a program
_WATCHING: list[tuple[str, list[float]]] = []


def _listen(event, duration, **kwargs):
    for watched, seen in _WATCHING:
        if event == watched:
            seen.append(duration)


jax.monitoring.register_event_duration_secs_listener(_listen)  # once: JAX has no public way to remove one


@contextlib.contextmanager
def events(name):
    """The durations of JAX's ``name`` events while inside, one per event."""
    watch = (name, [])
    _WATCHING.append(watch)
    try:
        yield watch[1]
    finally:
        _WATCHING.remove(watch)


def _numbers(result):
    return result.fun, np.asarray(result.x).tolist(), result.nfev, result.status, result.trace.drop(columns="time_s")


def _same(a, b):
    assert a[:4] == b[:4]
    assert a[4].equals(b[4])


@pytest.mark.parametrize(
    ("first", "second", "optimizer"),
    [
        ("nist_misra1a[start=1]", "nist_misra1a[start=2]", "lm"),  # another starting point
        ("nist_gauss1[start=1]", "nist_gauss1[start=2]", "bfgs"),
        ("sinusoidal[noise=0.1]", "sinusoidal[noise=0.4]", "adam"),  # other data of the same shape
        ("linear[seed=1]", "linear[seed=2]", "nelder_mead"),
    ],
)
def test_problems_that_differ_in_data_or_start_share_one_program_and_its_numbers(first, second, optimizer):
    loop.clear_programs()
    optbench.minimize(first, optimizer, max_steps=200)
    REGISTRY.problem(second)  # built first: building some problems compiles (finding their optimum)
    with events(COMPILE) as compiled:
        shared = optbench.minimize(second, optimizer, max_steps=200)
    assert compiled == []  # nothing compiled for the second problem
    loop.clear_programs()
    with events(COMPILE) as compiled:
        alone = optbench.minimize(second, optimizer, max_steps=200)
    assert len(compiled) >= 3  # its own init, chunk and final programs, compiled (or read) anew
    _same(_numbers(shared), _numbers(alone))


def test_nists_two_starts_share_their_programs_without_tracing_them_again():
    loop.clear_programs()
    optbench.minimize("nist_hahn1[start=1]", "bfgs", max_steps=100)
    REGISTRY.problem("nist_hahn1[start=2]")
    with events(LOWER) as lowered, events(COMPILE) as compiled:
        shared = optbench.minimize("nist_hahn1[start=2]", "bfgs", max_steps=100)
    assert lowered == [] and compiled == []  # the same programs, found by the problems' program_key
    loop.clear_programs()
    alone = optbench.minimize("nist_hahn1[start=2]", "bfgs", max_steps=100)
    _same(_numbers(shared), _numbers(alone))


def test_different_models_never_share():
    loop.clear_programs()
    optbench.minimize("nist_misra1a", "lm", max_steps=50)
    with events(COMPILE) as compiled:
        optbench.minimize("nist_boxbod", "lm", max_steps=50)  # the same model, other data closed over
    assert len(compiled) >= 3


def test_programs_that_close_over_other_data_keep_their_own_numbers():
    # Gauss1 and Gauss2 share NIST's model and size; their certified-value metrics close
    # over each problem's own data, which the module holds as constants.
    loop.clear_programs()
    optbench.minimize("nist_gauss1", "lm", max_steps=300)
    after = optbench.minimize("nist_gauss2", "lm", max_steps=300)
    loop.clear_programs()
    alone = optbench.minimize("nist_gauss2", "lm", max_steps=300)
    assert after.metrics == alone.metrics and after.fun == alone.fun
    _same(_numbers(after), _numbers(alone))


def test_a_suite_compiled_on_two_threads_gives_the_numbers_of_one_thread(tmp_path):
    from optbench import execute as runner

    problems, optimizers = ["linear", "nist_misra1a[start=[1,2]]", "logistic_2d"], ["lm", "adam", "bfgs", "scipy_bfgs"]
    results = {}
    for threads in (1, 2):
        loop.clear_programs()
        store = tmp_path / f"{threads}.sqlite"
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr("optbench.api.execute", functools.partial(runner.execute, compile_threads=threads))
            optbench.run(problems, optimizers, seeds=2, max_steps=150, db=store)
        results[threads] = optbench.load_results(store)
    one, two = results[1], results[2]
    columns = ["run_id", "status", "fun", "nfev", "njev", "nit", "message"]
    order = lambda runs: runs.sort_values("run_id")[columns].reset_index(drop=True)
    assert order(one.runs).equals(order(two.runs))
    assert (one.runs["status"] != "failed").all()
    traces = lambda t: t.drop(columns="time_s").sort_values(["run_id", "step"]).reset_index(drop=True)
    assert traces(one.traces).equals(traces(two.traces))


def test_an_error_while_compiling_ahead_is_the_runs_result():
    from optbench.solver import NativeSolver

    class Broken(NativeSolver):
        def init(self, problem, data, params, key):
            return params

        def step(self, problem, data, state):
            raise RuntimeError("no step here")

        def params(self, state):
            return state

    if "test_broken_step" not in REGISTRY.entries["optimizer"]:
        optbench.register_optimizer("test_broken_step")(lambda: Broken())
    runs, _ = optbench.run(["linear", "quadratic"], ["test_broken_step", "gd"], seeds=2, max_steps=20)
    broken = runs[runs["optimizer"] == "test_broken_step"]
    assert len(broken) == 4 and (broken["status"] == "failed").all()
    assert (broken["message"] == "RuntimeError: no step here").all()
    assert (runs[runs["optimizer"] == "gd"]["status"] == "max_steps").all()


def test_a_run_shorter_than_a_block_evaluates_only_its_steps():
    calls = {"n": 0}

    def tick(*_):
        calls["n"] += 1

    def loss(x):
        jax.debug.callback(tick, x)
        return jax.numpy.sum((x - 1.0) ** 2)

    problem = optbench.Problem("counted_bowl", loss, init=jax.numpy.zeros(3))
    # Chunks are whole blocks of 16 steps, except a budget under 16 steps: one block of its length.
    result = optbench.minimize(problem, "gd", max_steps=5)
    # One evaluation per step, plus the harness's two uncounted ones (start and end).
    assert result.status is Status.MAX_STEPS and result.nfev == 5 and calls["n"] == 5 + 2
