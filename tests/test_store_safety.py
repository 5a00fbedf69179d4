"""The results store never loses a run, never corrupts a file, never lies about what it stored.

Each case here was a defect found by a hostile user (issue 11): the database was written
into, altered or overwritten, or a finished batch was lost, or the command said "stored"
when nothing was.
"""

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from helpers import REPO, child_env, db_rows, plugin_dir, refused

import optbench
from optbench.cli import main
from optbench.store import connection, schema

RUN = ["run", "-p", "linear", "-o", "gd", "--max-steps", "20", "--no-progress"]


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """A small database of 2 runs, copied by each test that changes it."""
    db = tmp_path_factory.mktemp("safety") / "runs.sqlite"
    optbench.run("linear", "gd", seeds=2, max_steps=20, db=db)
    return db


@pytest.fixture
def copy(stored, tmp_path):
    path = tmp_path / "runs.sqlite"
    shutil.copy(stored, path)
    return path


def test_a_reader_holding_the_database_does_not_stop_a_writer(copy):
    reader = sqlite3.connect(copy)
    reader.execute("BEGIN")
    assert reader.execute("SELECT COUNT(*) FROM traces").fetchone()[0] > 0  # a read transaction, held open
    try:
        runs, _ = optbench.run("linear", "gd", seeds=4, max_steps=20, db=copy)
    finally:
        reader.close()
    assert len(runs) == 4 and len(optbench.load_results(copy).runs) == 4


def test_a_writer_waits_for_another_writers_lock_and_says_so(copy, monkeypatch, capsys):
    monkeypatch.setattr(connection, "BUSY_TIMEOUT_S", 0.2)
    other = sqlite3.connect(copy, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # an sqlite3 shell in the middle of a write
    threading.Timer(1.5, other.rollback).start()
    try:
        runs, _ = optbench.run("linear", "gd", seeds=3, max_steps=20, db=copy)
    finally:
        time.sleep(1.6)
        other.close()
    assert len(runs) == 3
    assert "is locked by another writer; waiting" in capsys.readouterr().err


def test_a_writer_gives_up_on_a_lock_held_forever_before_any_run(copy, monkeypatch, capsys):
    monkeypatch.setattr(connection, "BUSY_TIMEOUT_S", 0.1)
    monkeypatch.setattr(connection, "LOCK_PATIENCE_S", 0.3)
    other = sqlite3.connect(copy, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        refused([*RUN, "--seeds", "5", "--db", str(copy)], capsys, "has held its write lock")
    finally:
        other.close()
    assert len(optbench.load_results(copy).runs) == 2


def test_runs_go_into_a_wal_database_stamped_as_optbench(copy):
    optbench.run("linear", "gd", seeds=3, max_steps=20, db=copy)
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA application_id").fetchone()[0] == schema.APPLICATION_ID
        assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION


def test_a_failure_to_store_is_an_error_not_a_silent_ignore(tmp_path, capsys):
    db = tmp_path / "strict.sqlite"
    with sqlite3.connect(db) as conn:  # a schema with a column this optbench does not fill, required
        conn.executescript(schema.DDL.replace("created REAL NOT NULL", "created REAL NOT NULL, owner TEXT NOT NULL"))
    err = refused([*RUN, "--db", str(db)], capsys, "cannot store run")
    assert "NOT NULL constraint failed: runs.owner" in err and "stored in" not in err
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 0


def test_a_database_damaged_in_the_middle_is_refused_and_left_as_it_is(copy, capsys):
    optbench.run("quadratic", ["gd", "adam"], seeds=20, max_steps=200, db=copy)  # enough pages to damage
    data = bytearray(copy.read_bytes())
    middle = len(data) // 2 // 4096 * 4096
    data[middle : middle + 4096] = os.urandom(4096)
    copy.write_bytes(bytes(data))
    before = _digest(copy)
    refused([*RUN, "--seeds", "5", "--db", str(copy)], capsys, "is damaged")
    assert _digest(copy) == before


def test_a_file_that_is_not_sqlite_is_refused_untouched(tmp_path, capsys):
    notes = tmp_path / "notes.sqlite"
    notes.write_text("my notes, not a database\n")
    refused([*RUN, "--db", str(notes)], capsys, "is not an SQLite database")
    refused(["table", "--db", str(notes)], capsys, "is not an SQLite database")
    assert notes.read_text() == "my notes, not a database\n"


def test_another_programs_database_with_a_runs_table_is_refused_untouched(tmp_path, capsys):
    foreign = tmp_path / "lab.sqlite"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE runs (id INTEGER PRIMARY KEY, operator TEXT)")
        conn.execute("INSERT INTO runs (operator) VALUES ('ada')")
    before = _digest(foreign)
    err = refused([*RUN, "--db", str(foreign)], capsys, "is not an optbench results database")
    assert "lacks" in err
    refused(["table", "--db", str(foreign)], capsys, "is not an optbench results database")
    assert _digest(foreign) == before
    with sqlite3.connect(foreign) as conn:  # a stamp of another application is refused as well
        conn.execute("PRAGMA application_id = 1234")
    refused([*RUN, "--db", str(foreign)], capsys, "belongs to another program")


def test_a_newer_optbench_database_is_read_but_not_written(copy, capsys):
    with sqlite3.connect(copy) as conn:  # a later schema: a stamp ahead of ours and a column we do not know
        conn.execute("ALTER TABLE runs ADD COLUMN energy_joules REAL")
        conn.execute("ALTER TABLE traces ADD COLUMN note TEXT")
        conn.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION + 1}")
    before = _digest(copy)
    assert main(["table", "--db", str(copy)]) == 0
    assert "gd" in capsys.readouterr().out
    runs, traces = optbench.load_results(copy)
    assert "energy_joules" not in runs and "note" not in traces and len(runs) == 2
    refused([*RUN, "--seeds", "3", "--db", str(copy)], capsys, "was written by a newer optbench")
    assert _digest(copy) == before


def test_an_unstamped_database_with_an_extra_column_is_read_and_written(copy):
    with sqlite3.connect(copy) as conn:  # as a user's own analysis column might be
        conn.execute("ALTER TABLE runs ADD COLUMN my_label TEXT")
        conn.execute("PRAGMA application_id = 0")
        conn.execute("PRAGMA user_version = 0")
    runs, _ = optbench.run("linear", "gd", seeds=3, max_steps=20, db=copy)
    assert len(runs) == 3 and "my_label" not in runs


@pytest.mark.skipif(not shutil.which("setpriv"), reason="setpriv (util-linux) is needed to act as another user")
def test_a_read_only_database_is_refused_before_any_run(stored):
    """As a user without write permission (root writes anyway, so the command runs as nobody)."""
    folder = Path(tempfile.mkdtemp(prefix="optbench-read-only-"))  # pytest's own folders are private to root
    os.chmod(folder, 0o755)
    db = folder / "runs.sqlite"
    shutil.copy(stored, db)
    os.chmod(db, 0o444)  # a read-only file
    cases = {"file": db}
    if os.geteuid() == 0:
        writable = folder / "writable.sqlite"  # a writable file in a folder the user cannot write
        shutil.copy(stored, writable)
        os.chmod(writable, 0o666)
        cases["folder"] = writable
    as_user = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if os.geteuid() == 0 else []
    probe = subprocess.run([*as_user, sys.executable, "-c", "import optbench"], capture_output=True, cwd=REPO)
    if probe.returncode != 0:
        pytest.skip(f"the unprivileged user cannot run this checkout's Python: {probe.stderr.decode()[-200:]}")
    try:
        for where, path in cases.items():
            before = db_rows(path)
            command = [*as_user, sys.executable, "-m", "optbench", *RUN, "--seeds", "3", "--db", str(path)]
            done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=300)
            assert done.returncode == 2, done.stderr
            assert f"is read-only (its {where})" in done.stderr and "Traceback" not in done.stderr
            assert "runs planned" not in done.stderr  # refused before the plan ran anything
            assert db_rows(path) == before
    finally:
        shutil.rmtree(folder)


def test_an_output_never_overwrites_the_database_or_another_sqlite_file(copy, tmp_path, capsys):
    before = _digest(copy)
    refused(["table", "--db", str(copy), "--output", str(copy)], capsys, "optbench never writes over one")
    other = tmp_path / "other.db"
    shutil.copy(copy, other)
    refused(["table", "--db", str(copy), "--output", str(other)], capsys, "optbench never writes over one")
    refused(["table", "--db", str(copy), "--output", str(tmp_path)], capsys, "is a folder; give a file name")
    assert _digest(copy) == before
    assert main(["table", "--db", str(copy), "--output", str(tmp_path / "new" / "folder" / "table.md")]) == 0
    assert "gd" in (tmp_path / "new" / "folder" / "table.md").read_text()


def test_retry_failed_reruns_only_the_failed_runs_and_replaces_them(tmp_path, capsys):
    healthy = tmp_path / "healthy"  # the flaky problem fails (as out of memory) until this file exists
    plugins = plugin_dir(
        tmp_path,
        f"""
        import pathlib
        import jax.numpy as jnp
        from optbench import Problem, register_problem

        def loss(x):
            if not pathlib.Path({str(healthy)!r}).exists():  # checked when the program is traced
                raise MemoryError("out of memory, for now")
            return jnp.sum((x - 1.0) ** 2)

        @register_problem("flaky_bowl")
        def flaky_bowl():
            return Problem("flaky_bowl", loss, init=jnp.zeros(3))
        """,
    )
    db = str(tmp_path / "r.sqlite")
    args = ["run", "-p", "linear", "-p", "flaky_bowl", "-o", "gd", "--seeds", "2", "--max-steps", "20"]
    args += ["--no-progress", "--plugins", str(plugins), "--db", db]
    assert main(args) == 0
    first = optbench.load_results(db).runs.set_index("run_id")
    assert (first.loc[first["problem"] == "flaky_bowl", "status"] == "failed").all()
    assert "MemoryError: out of memory, for now" in capsys.readouterr().err
    assert main(args) == 0 and "0 to run" in capsys.readouterr().err  # failed runs count as done ...
    healthy.touch()
    assert main([*args, "--retry-failed"]) == 0  # ... until asked for again
    assert "2 to run (2 failed before)" in capsys.readouterr().err
    again = optbench.load_results(db)
    runs = again.runs.set_index("run_id")
    assert len(runs) == 4 and (runs["status"] == "max_steps").all()
    linear = first["problem"] == "linear"
    assert runs.loc[linear[linear].index, "created"].equals(first.loc[linear, "created"])  # not rerun
    assert again.traces.groupby("run_id")["step"].apply(lambda s: s.is_unique).all()  # no trace stored twice


def test_parameters_over_the_limit_are_not_stored_and_the_run_says_so(tmp_path, monkeypatch):
    from optbench.store import results

    monkeypatch.setattr(results, "MAX_STORED_PARAMS", 5)
    runs, _ = optbench.run(["linear", "quadratic[n=50]"], "lm", max_steps=20, db=tmp_path / "r.sqlite")
    with sqlite3.connect(tmp_path / "r.sqlite") as conn:
        stored = dict(conn.execute("SELECT problem, x FROM runs").fetchall())
    assert stored["linear"] is not None  # 2 parameters
    assert stored["quadratic[n=50]"] is not None  # 3 parameters
    monkeypatch.setattr(results, "MAX_STORED_PARAMS", 2)
    runs, _ = optbench.run("quadratic", "lm", max_steps=20, db=tmp_path / "r.sqlite")
    assert runs["x"].isna().all() and runs["message"].str.endswith("final parameters not stored (over 2)").all()


def test_two_optbench_processes_on_one_database_store_each_run_once_while_it_is_read(tmp_path):
    db = tmp_path / "shared.sqlite"
    env = child_env(tmp_path / "cache")
    base = [sys.executable, "-m", "optbench", "run", "--db", str(db), "--no-progress", "--seeds", "4"]
    first = [*base, "-p", "linear", "-p", "quadratic", "-o", "gd", "-o", "adam", "-o", "lm", "--max-steps", "300"]
    second = [
        *base,
        "-p",
        "quadratic",
        "-p",
        "sinusoidal",
        "-o",
        "adam",
        "-o",
        "lm",
        "-o",
        "bfgs",
        "--max-steps",
        "300",
    ]
    second += ["--workers", "2"]
    quiet = {"env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE, "text": True}
    children = [subprocess.Popen(command, **quiet) for command in (first, second)]
    reads = 0
    while any(child.poll() is None for child in children):  # a reader beside the two writers
        if db.exists():
            try:
                optbench.load_results(db)
                reads += 1
            except optbench.OptbenchError as err:  # only before the first writer created the schema
                assert "holds no" in str(err) or "not an optbench" in str(err), err
        time.sleep(0.1)
    for child in children:
        _, err = child.communicate()
        assert child.returncode == 0, err
        assert "locked" not in err.lower() and "Traceback" not in err
    with sqlite3.connect(db) as conn:
        count, distinct = conn.execute("SELECT COUNT(*), COUNT(DISTINCT run_id) FROM runs").fetchone()
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        traces = conn.execute("SELECT COUNT(*), COUNT(DISTINCT run_id || '/' || step) FROM traces").fetchone()
    assert count == distinct == 2 * 3 * 4 + 2 * 3 * 4 - 2 * 4  # quadratic x (adam, lm) planned by both
    assert traces[0] == traces[1] and reads > 0
