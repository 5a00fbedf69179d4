"""The local pool of worker processes: the same numbers as in-process, worker faults and
hangs as failed runs, clear errors for bad settings."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jax
import pandas as pd
import pytest
from helpers import child_env, db_rows, plugin_dir

import optbench
from optbench.drive import loop
from optbench.errors import OptbenchError

# Plugins whose factories misbehave only inside a worker: the parent (this test process,
# whose pid they are given) builds every configuration once while planning.
FRAGILE = """
    import os, signal, time
    import jax
    import optax
    import optbench

    def in_worker():
        return os.getpid() != int(os.environ["OPTBENCH_TEST_PARENT"])

    @optbench.register_optimizer("fragile_gd")
    def fragile_gd(learning_rate: float = 0.1):
        \"\"\"Gradient descent whose first step in a worker kills that worker, once: while its
        batch of runs executes.\"\"\"
        marker = os.environ["OPTBENCH_TEST_MARKER"]

        def kill(_):
            if in_worker() and os.path.exists(marker):
                os.remove(marker)
                os.kill(os.getpid(), signal.SIGKILL)

        sgd = optax.sgd(learning_rate)

        def update(grads, state, params=None):
            jax.debug.callback(kill, 0)
            return sgd.update(grads, state, params)

        return optax.GradientTransformation(sgd.init, update)

    @optbench.register_optimizer("sleepy_gd")
    def sleepy_gd(learning_rate: float = 0.1):
        \"\"\"Gradient descent that hangs in a worker.\"\"\"
        if in_worker():
            time.sleep(600)
        return optax.sgd(learning_rate)
"""


@pytest.fixture(scope="module")
def plugins(tmp_path_factory):
    return plugin_dir(tmp_path_factory.mktemp("pool"), FRAGILE)  # one folder: the registry loads it once


@pytest.fixture
def fragile(plugins, tmp_path, monkeypatch):
    monkeypatch.setenv("OPTBENCH_TEST_PARENT", str(os.getpid()))
    monkeypatch.setenv("OPTBENCH_TEST_MARKER", str(tmp_path / "kill-once"))
    (tmp_path / "kill-once").touch()
    return plugins


def _sorted(runs, traces):
    runs = runs.drop(
        columns=["time_s", "batch_time_s", "threads", "compile_s", "cache_hit", "created", "time_to_target"]
    ).sort_values("run_id")
    traces = traces.drop(columns=["time_s"]).sort_values(["run_id", "step"])
    return runs.reset_index(drop=True), traces.reset_index(drop=True)


def test_a_pool_gives_the_same_numbers_as_in_process():
    # Float grids are among them: a grid's points share one compiled program (one group),
    # but each run must reach its worker with its own values.
    # Native, library and population methods on a curve fit and a classifier.
    problems = ["nist_misra1a", "xor"]
    optimizers = ["lm", "adam[learning_rate=[0.1,0.01]]", "nelder_mead", "scipy_bfgs", "ga[mutation_rate=[0.5,0.05]]"]
    alone = optbench.run(problems, optimizers, seeds=2, max_steps=120)
    pooled = optbench.run(problems, optimizers, seeds=2, max_steps=120, workers=2)
    ran = pooled.runs["status"] != "skipped"  # a skipped run ran on no threads: NULL
    assert {json.loads(t)["xla"] for t in pooled.runs["threads"][ran]} == {1}  # a worker's XLA is on one thread
    assert pooled.runs["threads"][~ran].isna().all()
    (runs_a, traces_a), (runs_b, traces_b) = _sorted(*alone), _sorted(*pooled)
    assert len(runs_a) == 28 and not runs_a["status"].isin(["failed"]).any()
    pd.testing.assert_frame_equal(runs_a, runs_b)  # fun, x, nfev, status: bit for bit
    pd.testing.assert_frame_equal(traces_a, traces_b)


def test_each_point_of_a_float_grid_runs_with_its_own_value_in_workers(tmp_path):
    """The audit's case: 0.01's runs were stored with 0.1's x and trace, row for row."""
    runs, _ = optbench.run("linear", "adam[learning_rate=[0.1,0.01]]", seeds=2, max_steps=400, workers=2)
    by_rate = {label: sorted(group["fun"]) for label, group in runs.groupby("optimizer")}
    assert len(by_rate) == 2
    assert len({tuple(funs) for funs in by_rate.values()}) == 2  # not one value stored under two labels
    alone, _ = optbench.run("linear", "adam[learning_rate=[0.1,0.01]]", seeds=2, max_steps=400)
    assert sorted(runs["fun"]) == sorted(alone["fun"])


def test_a_killed_worker_fails_the_runs_of_its_batch_and_the_suite_goes_on(fragile, tmp_path):
    db = tmp_path / "runs.sqlite"
    seeds = loop.LANES_ON_GPU if jax.default_backend() == "gpu" else loop.LANES_ON_CPU
    runs, _ = optbench.run(
        "quadratic", "fragile_gd", seeds=seeds + 2, max_steps=50, db=db, plugins=[fragile], workers=2
    )
    failed = runs[runs["status"] == "failed"]
    # The first batch's lanes were lost with the worker, each is stored as failed; the
    # next batch ran in a new worker.
    assert len(runs) == seeds + 2 and sorted(failed["seed"]) == list(range(seeds))
    assert failed["message"].str.contains("the worker process running this run died: SIGKILL").all()
    assert (runs.loc[runs["status"] != "failed", "status"] == "max_steps").all()
    again, _ = optbench.run("quadratic", "fragile_gd", seeds=seeds + 2, max_steps=50, db=db, plugins=[fragile],
                            workers=2, retry_failed=True)  # fmt: skip
    assert (again["status"] == "max_steps").all()  # the marker is gone: the runs succeed this time
    stored, _ = optbench.load_results(db)
    assert len(stored) == seeds + 2 and set(stored["run_id"]) == set(runs["run_id"])


def test_a_run_that_hangs_is_stopped_by_the_run_timeout(fragile):
    started = time.perf_counter()
    runs, _ = optbench.run(["quadratic"], ["sleepy_gd", "gd"], seeds=2, max_steps=50, plugins=[fragile],
                           workers=2, run_timeout=6)  # fmt: skip  # gd compiles well within 6 s
    by = runs.set_index(["optimizer", "seed"])["status"]
    assert by["sleepy_gd"].tolist() == ["failed", "failed"] and by["gd"].tolist() == ["max_steps", "max_steps"]
    assert runs.loc[runs["optimizer"] == "sleepy_gd", "message"].str.contains("run timeout: stopped after 6 s").all()
    assert time.perf_counter() - started < 60  # not the 600 s the plugin sleeps


def test_bad_pool_settings_are_clear_errors_before_any_work(tmp_path, capsys):
    from optbench.cli import main

    db = tmp_path / "runs.sqlite"
    for args, words in [
        (["--workers", "0"], "workers must be a whole number of at least 1, got 0"),
        (["--run-timeout", "5"], "use 2 or more workers"),
        (["--workers", "2", "--run-timeout", "-1"], "positive number of seconds"),
    ]:
        assert main(["run", "-p", "linear", "-o", "lm", "--db", str(db), *args]) == 2
        err = capsys.readouterr().err
        assert words in err and "Traceback" not in err
    assert not db.exists()
    with pytest.raises(OptbenchError, match="at least 1"):
        optbench.run("linear", "lm", workers=-1)


def test_a_problem_defined_in_this_session_cannot_go_to_workers(tmp_path):
    import jax.numpy as jnp

    namespace = {"__name__": "__main__", "optbench": optbench, "jnp": jnp}
    exec(
        "@optbench.register_problem('session_bowl')\n"
        "def session_bowl(n: int = 2):\n"
        "    return optbench.Problem('session_bowl', loss=lambda x: jnp.sum(x**2), init=jnp.ones(n))\n",
        namespace,
    )
    with pytest.raises(OptbenchError, match="defined in this session.*plugin file"):
        optbench.run("session_bowl", "gd", workers=2)
    assert optbench.run("session_bowl", "gd", max_steps=5)[0]["status"].iloc[0] == "max_steps"  # one worker: fine


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT")
def test_ctrl_c_stops_the_workers_and_stores_only_whole_runs(tmp_path):
    db = tmp_path / "runs.sqlite"
    command = [sys.executable, "-m", "optbench", "run", "-p", "mlp", "-o", "sgd", "-o", "adam", "--seeds", "4",
               "--max-steps", "3000", "--workers", "2", "--db", str(db), "--no-progress"]  # fmt: skip
    # Its own process group, as a terminal gives a command; optbench handles SIGINT itself
    # while a suite runs, even where it started with SIGINT ignored (a background job).
    child = subprocess.Popen(
        command, env=child_env(tmp_path / "cache"), stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (db.exists() and _stored(db) >= 1):
        time.sleep(0.2)
    os.killpg(child.pid, signal.SIGINT)  # as a terminal does: the whole process group
    _, err = child.communicate(timeout=60)
    assert child.returncode == 130, err
    assert "Traceback" not in err
    leftover = subprocess.run(["pgrep", "-f", "optbench.execute.local_pool"], capture_output=True, text=True)
    assert str(child.pid) not in leftover.stdout and not [
        line for line in leftover.stdout.split() if _parent_of(int(line)) == child.pid
    ]
    rows = db_rows(db)
    runs, _ = optbench.load_results(db)
    assert 1 <= len(runs) < 8 and (runs["status"] == "max_steps").all()  # whole runs only
    assert rows == db_rows(db)


def test_workers_import_what_the_parent_imports_not_the_working_folder(tmp_path):
    """A working folder holding ``optbench/``, ``numpy/`` and a ``jax.py`` (the parent of
    a clone, a scratch folder) stopped the workers, and its ``jax.py`` ran in them."""
    here = tmp_path / "work"
    for package in ("optbench", "numpy"):
        (here / package).mkdir(parents=True)
        (here / package / "__init__.py").write_text("raise ImportError('the working folder was imported')\n")
    marker = tmp_path / "jax-py-ran"
    (here / "jax.py").write_text(f"open({str(marker)!r}, 'w').close()\nraise ImportError('not jax')\n")
    optbench_command = Path(sys.executable).with_name("optbench")  # the installed command, as a user runs it
    done = subprocess.run(
        [optbench_command, "run", "-p", "linear", "-o", "gd", "-o", "adam", "--seeds", "2", "--max-steps", "20",
         "--workers", "2", "--db", str(tmp_path / "runs.sqlite"), "--no-progress"],
        cwd=here, env=child_env(tmp_path / "cache"), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    runs, _ = optbench.load_results(tmp_path / "runs.sqlite")
    assert len(runs) == 4 and (runs["status"] == "max_steps").all()
    assert not marker.exists()


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGKILL")
def test_workers_exit_soon_after_their_parent_is_killed(tmp_path):
    db = tmp_path / "runs.sqlite"
    command = [sys.executable, "-m", "optbench", "run", "-p", "mlp", "-o", "adam", "-o", "sgd", "--seeds", "4",
               "--max-steps", "100000", "--workers", "2", "--db", str(db), "--no-progress"]  # fmt: skip
    child = subprocess.Popen(command, env=child_env(tmp_path / "cache"), stderr=subprocess.DEVNULL)
    workers = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(workers) < 2:
        time.sleep(0.2)
        listed = subprocess.run(["pgrep", "-f", "optbench.execute.local_pool"], capture_output=True, text=True)
        workers = [int(pid) for pid in listed.stdout.split() if _parent_of(int(pid)) == child.pid]
    assert len(workers) == 2
    time.sleep(3)  # past their imports: computing
    child.kill()
    child.wait()
    killed = time.monotonic()
    while time.monotonic() - killed < 10 and any(_alive(pid) for pid in workers):
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers), "the workers computed on after their parent died"
    assert time.monotonic() - killed < 3


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _stored(db):
    import sqlite3

    try:
        with sqlite3.connect(db) as conn:
            return conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    except sqlite3.Error:
        return 0


def _parent_of(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return int(stat.read().rsplit(")", 1)[1].split()[1])
    except OSError:
        return None


def test_workers_run_xla_on_one_thread_and_do_not_preallocate_a_gpu(monkeypatch):
    from optbench.execute.local_pool import ONE_THREAD, worker_environment

    monkeypatch.setenv("XLA_FLAGS", "--xla_dump_to=/tmp/x")
    monkeypatch.delenv("XLA_PYTHON_CLIENT_PREALLOCATE", raising=False)
    assert worker_environment() == {
        "XLA_FLAGS": f"--xla_dump_to=/tmp/x {ONE_THREAD}",
        "XLA_PYTHON_CLIENT_PREALLOCATE": "false",
    }
    monkeypatch.setenv("XLA_PYTHON_CLIENT_PREALLOCATE", "true")  # a user's own choice stands
    assert worker_environment()["XLA_PYTHON_CLIENT_PREALLOCATE"] == "true"
