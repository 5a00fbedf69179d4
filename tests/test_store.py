"""The results database and resuming an interrupted suite."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pandas as pd
import pytest
from helpers import REPO

import optbench
from optbench.store import ResultStore


def test_run_returns_what_load_results_reads(db):
    runs, traces = optbench.run(["linear", "sinusoidal"], ["gd", "sgd"], seeds=2, db=db, max_steps=100)
    assert len(runs) == 8 and set(traces["run_id"]) == set(runs["run_id"])
    for column in (
        "run_id",
        "suite",
        "problem",
        "optimizer",
        "seed",
        "status",
        "fun",
        "nit",
        "nfev",
        "njev",
        "time_s",
        "compile_s",
    ):
        assert column in runs.columns
    stored, stored_traces = optbench.load_results(db)
    pd.testing.assert_frame_equal(
        stored.sort_values("run_id").reset_index(drop=True), runs.sort_values("run_id").reset_index(drop=True)
    )
    assert len(stored_traces) == len(traces)
    again, _ = optbench.run(["linear", "sinusoidal"], ["gd", "sgd"], seeds=2, db=db, max_steps=100)
    assert (again["created"].sort_values().to_numpy() == runs["created"].sort_values().to_numpy()).all()


def test_in_memory_run_and_skipped_pairs_are_recorded():
    runs, _ = optbench.run(["linear"], ["gd"], seeds=1, max_steps=10)
    assert runs["status"].tolist() == ["max_steps"]
    import jax.numpy as jnp

    @optbench.register_problem("test_no_data")
    def no_data():
        return optbench.Problem("test_no_data", lambda x: jnp.sum(x**2), init=jnp.ones(2))

    runs, _ = optbench.run(["test_no_data"], ["sgd", "gd"], max_steps=10)
    skipped = runs[runs["optimizer"] == "sgd"].iloc[0]
    assert skipped["status"] == "skipped" and "minibatch" in skipped["message"]


def test_diverged_and_failed_runs_do_not_stop_the_suite(db):
    runs, _ = optbench.run(["quadratic"], ["gd[learning_rate=[5.0,0.1]]", "sgd[batch_size=1000]"], db=db)
    status = dict(zip(runs["optimizer"], runs["status"]))
    assert status == {"gd[learning_rate=5.0]": "diverged", "gd": "max_steps", "sgd[batch_size=1000]": "failed"}


def test_x_round_trips(db):
    runs, _ = optbench.run(["linear"], ["gd"], db=db, max_steps=5)
    assert set(json.loads(runs["x"].iloc[0])) == {"m", "b"}
    store = ResultStore(db)
    assert store.run_ids() == set(runs["run_id"])
    store.close()


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT], ids=["killed", "ctrl-c"])
def test_an_interrupted_suite_resumes_without_loss_or_duplicates(tmp_path, how):
    suite = tmp_path / "resume.toml"
    suite.write_text(
        'problems = ["linear", "quadratic", "sinusoidal"]\n'
        'optimizers = ["gd", "momentum", "adam", "rmsprop", "adadelta"]\nseeds = 2\n[budget]\nmax_steps = 200\n'
    )
    db = tmp_path / "resume.sqlite"
    command = [sys.executable, "-m", "optbench", "run", str(suite), "--db", str(db)]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    before = 0
    while time.time() < deadline and process.poll() is None:
        time.sleep(0.2)
        before = _count(db)
        if before >= 4:
            os.kill(process.pid, how)
            break
    _, err = process.communicate()
    assert 4 <= before < 30, "the interruption should land mid-suite"
    if how == signal.SIGINT:
        assert process.returncode == 130 and "run the same command again to resume" in err
        assert "Traceback" not in err
    with sqlite3.connect(db) as conn:
        kept = conn.execute("SELECT run_id, created, fun FROM runs").fetchall()
    finished = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert "already stored" in finished.stderr
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*), COUNT(DISTINCT run_id) FROM runs").fetchone() == (30, 30)
        assert set(kept) <= set(conn.execute("SELECT run_id, created, fun FROM runs").fetchall())
        orphans = conn.execute("SELECT COUNT(*) FROM traces WHERE run_id NOT IN (SELECT run_id FROM runs)")
        assert orphans.fetchone()[0] == 0


def _count(db) -> int:
    try:
        with sqlite3.connect(db, timeout=0.1) as conn:
            return conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_a_ctrl_c_that_a_library_swallows_still_stops_the_suite_and_stores_nothing_of_it(tmp_path, monkeypatch):
    from optbench.execute import runs as runner
    from optbench.execute.plan import plan
    from optbench.result import Result

    def swallowing_run_group(problem, runs):
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.1)
        except BaseException:  # as a library that turns the interrupt into its own error might
            pass
        return [Result.from_error(RuntimeError("interrupted inside the library")) for _ in runs]

    monkeypatch.setattr(runner, "run_group", swallowing_run_group)
    store = ResultStore(tmp_path / "r.sqlite")
    before = signal.getsignal(signal.SIGINT)  # SIG_IGN where the tests run in the background
    with pytest.raises(KeyboardInterrupt):
        runner.execute(plan(["linear"], ["gd"], 2, optbench.Budget(max_steps=10)), store)
    assert store.run_ids() == set()  # no run stored as failed because of the interrupt
    assert signal.getsignal(signal.SIGINT) is before  # the handler it found is back
    store.close()


def test_a_ctrl_c_inside_a_finalizer_prints_no_traceback(tmp_path, monkeypatch):
    import gc

    from optbench.execute import runs as runner
    from optbench.execute.plan import plan
    from optbench.result import Result

    class Finalized:
        def __del__(self):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.1)  # the interrupt lands inside __del__, where Python cannot raise it

    def run_group(problem, runs):
        Finalized()
        gc.collect()
        return [Result.from_error(RuntimeError("should not be stored")) for _ in runs]

    printed = []  # what Python would print as "Exception ignored in ...", with a traceback
    monkeypatch.setattr(runner, "run_group", run_group)
    monkeypatch.setattr(sys, "unraisablehook", printed.append)
    store = ResultStore(tmp_path / "r.sqlite")
    with pytest.raises(KeyboardInterrupt):
        runner.execute(plan(["linear"], ["gd"], 1, optbench.Budget(max_steps=10)), store)
    assert printed == [] and store.run_ids() == set()
    assert sys.unraisablehook == printed.append  # put back
    store.close()


def test_a_database_from_an_earlier_optbench_is_migrated_without_loss(tmp_path):
    db = tmp_path / "old.sqlite"
    optbench.run("linear", "gd", seeds=2, db=db, max_steps=20)
    with sqlite3.connect(db) as conn:  # as written before runs had metrics and traces epochs
        conn.execute("ALTER TABLE traces DROP COLUMN epochs")
        conn.execute("ALTER TABLE runs DROP COLUMN metrics")
        before = conn.execute("SELECT run_id, fun FROM runs ORDER BY run_id").fetchall()
    runs, traces = optbench.load_results(db)
    assert sorted(zip(runs["run_id"], runs["fun"])) == before
    assert (traces["epochs"] == traces["nfev"]).all()  # full-batch runs: one pass per evaluation
    runs, _ = optbench.run("linear", "gd", seeds=3, db=db, max_steps=20)  # and it takes new runs
    assert len(runs) == 3
