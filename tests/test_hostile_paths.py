"""Paths a user may give by mistake: databases that are not files or hold nothing, outputs
that would replace the database, and a disk that fills up. Each ends in one message and
exit 2, and leaves nothing behind (the second audit's cases)."""

import hashlib
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from helpers import refused

import optbench
from optbench.cli import main
from optbench.errors import OptbenchError
from optbench.store import schema

VIEWS = [["table"], ["report", "--output", "r.html"], ["export", "--format", "csv"], ["plot"]]


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    db = tmp_path_factory.mktemp("paths") / "runs.sqlite"
    optbench.run("linear", ["gd", "nelder_mead"], seeds=2, max_steps=20, db=db)
    return db


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("view", VIEWS, ids=lambda v: v[0])
@pytest.mark.parametrize("kind", ["empty file", "no tables", "fifo", "device", "/proc/self/mem"])
def test_a_database_that_is_no_database_is_one_message_in_every_view(tmp_path, monkeypatch, capsys, view, kind):
    monkeypatch.chdir(tmp_path)
    path = {"device": "/dev/null", "/proc/self/mem": "/proc/self/mem"}.get(kind, str(tmp_path / "db"))
    if kind == "empty file":
        Path(path).touch()
    elif kind == "no tables":
        with sqlite3.connect(path) as conn:
            conn.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION + 1}")
    elif kind == "fifo":
        os.mkfifo(path)  # reading it would wait for a writer forever
    message = {"empty file": "empty file", "no tables": "without tables", "/proc/self/mem": "empty file"}
    refused([*view, "--db", path], capsys, message.get(kind, "not a regular file"))
    with pytest.raises(OptbenchError):
        optbench.load_results(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == (["db"] if kind not in ("device", "/proc/self/mem") else [])


@pytest.mark.parametrize(
    "name, message", [("-", "names no file"), (" ", "names no file"), ("", "names no file"),
                      (" runs.sqlite", "spaces"), ("dir/", "names a folder")],
)  # fmt: skip
def test_a_database_name_that_names_no_file_is_refused_before_any_file_is_made(tmp_path, monkeypatch, capsys, name,
                                                                              message):  # fmt: skip
    monkeypatch.chdir(tmp_path)
    refused(["run", "-p", "linear", "-o", "gd", "--max-steps", "5", "--db", name], capsys, message)
    refused(["table", "--db", name], capsys, message)
    assert list(tmp_path.iterdir()) == []


def test_run_on_a_device_leaves_no_journal_beside_it(capsys):
    refused(["run", "-p", "linear", "-o", "gd", "--max-steps", "5", "--db", "/dev/null"], capsys, "not a regular file")
    assert not Path("/dev/null-journal").exists()


def test_export_never_writes_over_the_database_it_reads_or_into_a_folder_in_the_way(stored, tmp_path, capsys):
    folder = tmp_path / "exp"
    folder.mkdir()
    db = folder / "runs.csv"  # the database is named like an export file, in the export's folder
    shutil.copy(stored, db)
    before = _digest(db)
    refused(["export", "--format", "csv", "--db", str(db), "--output", str(folder)], capsys, "is an SQLite database")
    assert _digest(db) == before
    assert [p.name for p in folder.iterdir() if not p.name.startswith("runs.csv")] == []  # nothing half-moved
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(stored, other / "traces.csv")  # another SQLite file named like an export file
    refused(["export", "--format", "csv", "--db", str(stored), "--output", str(other)], capsys, "is an SQLite database")
    (other / "traces.csv").unlink()
    (other / "traces.csv").mkdir()  # a folder named like an export file
    refused(["export", "--format", "csv", "--db", str(stored), "--output", str(other)], capsys, "is a folder")
    assert list((other / "traces.csv").iterdir()) == []
    assert main(["export", "--format", "csv", "--db", str(stored), "--output", str(tmp_path / "fine")]) == 0
    assert sorted(p.name for p in (tmp_path / "fine").iterdir()) == ["fronts.csv", "runs.csv", "traces.csv"]


@pytest.fixture
def full_disk(tmp_path):
    """A 64 KiB tmpfs, filled to the last byte; skipped where it cannot be mounted (not root)."""
    mount = tmp_path / "full"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs to fill ({done.stderr.decode().strip() or 'not root'})")
    try:
        with open(mount / "filler", "wb", buffering=0) as filler, pytest.raises(OSError):
            while True:
                filler.write(b"\0" * 512)
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_leaves_no_empty_database_and_no_partial_outputs(full_disk, stored, capsys):
    refused(["run", "-p", "linear", "-o", "gd", "--max-steps", "5", "--db", str(full_disk / "new.sqlite")], capsys,
            "full")  # fmt: skip
    for view in (["table", "--output", str(full_disk / "t.md")], ["report", "--output", str(full_disk / "r.html")],
                 ["plot", "--output", str(full_disk / "plots")]):  # fmt: skip
        refused([*view, "--db", str(stored)], capsys, "cannot write")
    left = sorted(str(p.relative_to(full_disk)) for p in full_disk.rglob("*"))
    assert left in (["filler"], ["filler", "plots"])  # the plot folder may be made before the disk says no


def test_an_output_that_is_a_device_is_refused_and_the_device_left_alone(stored, capsys):
    """Written through a renamed sibling, ``table --output /dev/null`` replaced the device with a file."""
    refused(["table", "--output", "/dev/null", "--db", str(stored)], capsys, "not a regular file")
    assert Path("/dev/null").is_char_device()
