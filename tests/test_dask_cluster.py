"""Suites on Dask distributed: a LocalCluster of worker processes, and a scheduler and a
worker started as separate processes with the ``dask`` command line, each giving the
stored results of in-process runs."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from helpers import child_env, plugin_dir

import optbench
from optbench.cli import main
from optbench.errors import OptbenchError

distributed = pytest.importorskip("distributed", reason="Dask distributed is installed by `make test` (test extra)")

# A float grid among them: its points share one compiled program, but not their values.
GRID = "adam[learning_rate=[0.1,0.01]]"
PROBLEMS, OPTIMIZERS = ["sinusoidal", "nist_misra1a", "xor"], ["lm", GRID, "nelder_mead", "scipy_bfgs", "ga"]
NOT_NUMBERS = ["time_s", "batch_time_s", "threads", "compile_s", "cache_hit", "created", "time_to_target"]


def _numbers(runs, traces):
    runs = runs.drop(columns=NOT_NUMBERS).sort_values("run_id").reset_index(drop=True)
    return runs, traces.drop(columns=["time_s"]).sort_values(["run_id", "step"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def in_process():
    return _numbers(*optbench.run(PROBLEMS, OPTIMIZERS, seeds=2, max_steps=120))


def test_a_local_cluster_gives_the_same_numbers_as_in_process(in_process):
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):
        runs, traces = _numbers(*optbench.run(PROBLEMS, OPTIMIZERS, seeds=2, max_steps=120, client=client))
    assert len(runs) == 36 and not (runs["status"] == "failed").any()
    pd.testing.assert_frame_equal(runs, in_process[0])  # each learning rate's own x, fun and trace
    pd.testing.assert_frame_equal(traces, in_process[1])


def test_a_scheduler_and_worker_started_with_the_dask_command_line_run_a_suite(in_process, tmp_path):
    port = _free_port()
    env = child_env(tmp_path / "cache")
    dask = Path(sys.executable).with_name("dask")  # Dask's own command line, as a user starts it
    if not dask.exists():
        pytest.skip(f"the dask command is not installed beside {sys.executable}")
    scheduler = subprocess.Popen(
        [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--dashboard-address", ":0"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    worker = subprocess.Popen(
        [dask, "worker", f"tcp://127.0.0.1:{port}", "--nthreads", "1", "--nworkers", "2", "--dashboard-address", ":0"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        address = f"tcp://127.0.0.1:{port}"
        _wait_for_workers(address, 2)
        db = tmp_path / "runs.sqlite"
        command = ["run", "--dask", address, "--db", str(db), "--seeds", "2", "--max-steps", "120", "--no-progress"]
        assert (
            main(command + [a for p in PROBLEMS for a in ("-p", p)] + [a for o in OPTIMIZERS for a in ("-o", o)]) == 0
        )
    finally:
        worker.terminate()
        scheduler.terminate()
        worker.wait(30)
        scheduler.wait(30)
    runs, traces = _numbers(*optbench.load_results(db))
    expected = in_process[0].drop(columns=["suite"])
    pd.testing.assert_frame_equal(runs.drop(columns=["suite"]), expected, check_dtype=False)
    pd.testing.assert_frame_equal(traces, in_process[1], check_dtype=False)


def test_an_unreachable_scheduler_or_a_bad_timeout_is_an_error_before_any_work(tmp_path, capsys):
    db = tmp_path / "runs.sqlite"
    assert main(["run", "-p", "linear", "-o", "lm", "--dask", f"tcp://127.0.0.1:{_free_port()}", "--db", str(db)]) == 2
    assert "cannot reach the Dask scheduler" in capsys.readouterr().err and not db.exists()
    with pytest.raises(OptbenchError, match="positive number of seconds"):
        optbench.run("linear", "lm", client=object(), run_timeout=0)


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_workers(address, count, patience=60):
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        try:
            with distributed.Client(address, timeout=5) as client:
                client.wait_for_workers(count, timeout=patience)
                return
        except (OSError, TimeoutError):
            time.sleep(0.5)
    raise AssertionError(f"no {count} Dask workers at {address} within {patience} s")


DOOMED = """
    import os, signal
    import optax
    import optbench

    @optbench.register_optimizer("doomed_gd")
    def doomed_gd(learning_rate: float = 0.1):
        \"\"\"Gradient descent that kills any Dask worker process that builds it.\"\"\"
        if os.getpid() != int(os.environ["OPTBENCH_TEST_PARENT"]):
            os.kill(os.getpid(), signal.SIGKILL)
        return optax.sgd(learning_rate)
"""


def test_a_group_that_kills_every_worker_is_stored_as_failed_and_the_suite_goes_on(tmp_path, monkeypatch):
    monkeypatch.setenv("OPTBENCH_TEST_PARENT", str(os.getpid()))
    plugins = plugin_dir(tmp_path, DOOMED)
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):
        runs, _ = optbench.run("quadratic", ["doomed_gd", "gd"], seeds=2, max_steps=20, plugins=[plugins],
                               client=client)  # fmt: skip
    by = runs.set_index("optimizer")
    assert by.loc["gd", "status"].tolist() == ["max_steps", "max_steps"]
    assert by.loc["doomed_gd", "status"].tolist() == ["failed", "failed"]
    assert by.loc["doomed_gd", "message"].str.contains("Dask workers running this group died").all()


SLEEPY = """
    import os, time
    import optax
    import optbench

    @optbench.register_optimizer("hanging_gd")
    def hanging_gd(learning_rate: float = 0.1):
        \"\"\"Gradient descent that hangs in any process but the test's.\"\"\"
        if os.getpid() != int(os.environ["OPTBENCH_TEST_PARENT"]):
            time.sleep(600)
        return optax.sgd(learning_rate)
"""


def test_a_run_that_hangs_on_dask_is_stopped_by_the_run_timeout(tmp_path, monkeypatch):
    monkeypatch.setenv("OPTBENCH_TEST_PARENT", str(os.getpid()))
    plugins = plugin_dir(tmp_path, SLEEPY)
    started = time.perf_counter()
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):
        runs, _ = optbench.run("quadratic", ["hanging_gd", "gd"], seeds=2, max_steps=20, plugins=[plugins],
                               client=client, run_timeout=6)  # fmt: skip  # gd compiles well within 6 s
    by = runs.set_index("optimizer")
    assert by.loc["gd", "status"].tolist() == ["max_steps", "max_steps"]
    assert by.loc["hanging_gd", "status"].tolist() == ["failed", "failed"]
    assert by.loc["hanging_gd", "message"].str.contains("run timeout: stopped after 6 s").all()
    assert time.perf_counter() - started < 120  # not the 600 s the plugin sleeps


def test_a_tuning_on_dask_selects_and_scores_as_in_process(tmp_path, capsys):
    kwargs = {"trials": 4, "seeds": 2, "max_steps": 40, "progress": False}
    alone = optbench.tune("quadratic", ["gd", "adam"], **kwargs).table
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):
        on_dask = optbench.tune("quadratic", ["gd", "adam"], client=client, **kwargs).table
    numbers = ["tuned_fun", "default_fun", "learning_rate", "b1", "tuning_evals"]
    pd.testing.assert_frame_equal(alone[numbers], on_dask[numbers])  # bit for bit
    db = str(tmp_path / "tune.sqlite")
    assert main(["tune", "-p", "linear", "-o", "gd", "--dask", f"tcp://127.0.0.1:{_free_port()}", "--db", db]) == 2
    assert "cannot reach the Dask scheduler" in capsys.readouterr().err and not Path(db).exists()
