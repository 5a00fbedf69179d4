"""The results database's tables, its version stamp, and how a file is recognised.

An optbench database carries SQLite's ``application_id`` (``APPLICATION_ID``) and its
schema version in ``user_version``. Databases written before the stamp existed have
neither, and are recognised by their tables. Anything else is not ours to write into.
"""

from __future__ import annotations

import enum
import sqlite3

APPLICATION_ID = 0x6F707462  # "optb"
# 1: the unstamped databases of earlier releases; 2: stamped, WAL journal; 3: runs.cache_hit;
# 4: runs.best_fun and runs.in_bounds; 5: runs.target_scale; 6: the plugins table;
# 7: runs.batch_time_s and runs.threads, the tuning table.
SCHEMA_VERSION = 7

RUNS = {
    "run_id": "TEXT PRIMARY KEY",
    "suite": "TEXT NOT NULL",
    "problem": "TEXT NOT NULL",
    "problem_name": "TEXT NOT NULL",
    "optimizer": "TEXT NOT NULL",
    "optimizer_name": "TEXT NOT NULL",
    "params": "TEXT NOT NULL",
    "seed": "INTEGER NOT NULL",
    "budget": "TEXT NOT NULL",
    "status": "TEXT NOT NULL",
    "message": "TEXT NOT NULL",
    "success": "INTEGER NOT NULL",
    "fun": "REAL",
    "nit": "INTEGER NOT NULL",
    "nfev": "INTEGER NOT NULL",
    "njev": "INTEGER NOT NULL",
    "time_s": "REAL NOT NULL",
    "compile_s": "REAL NOT NULL",
    "f_opt": "REAL",
    "target": "REAL",
    "nfev_to_target": "REAL",
    "time_to_target": "REAL",
    "batch_size": "INTEGER NOT NULL",  # runs per program execution: the lane width of its programs
    "x": "TEXT",
    "metrics": "TEXT",  # JSON; a loaded runs table has one column per metric instead
    "version": "TEXT NOT NULL",
    "created": "REAL NOT NULL",
    # Added after the first release: NULL in rows an earlier optbench wrote.
    "n_params": "INTEGER",
    "host": "TEXT",
    "device": "TEXT",
    "float64": "INTEGER",
    "versions": "TEXT",  # JSON: package -> version
    "cache_hit": "INTEGER",  # 1: programs read from JAX's persistent cache, 0: compiled, NULL: neither
    "best_fun": "REAL",  # the lowest loss the run saw (fun is the loss where it ended)
    "in_bounds": "INTEGER",  # 1/0: x in the problem's bounds or not; NULL: no bounds, or no x
    "target_scale": "REAL",  # precision targets are f - f_opt <= delta x this; NULL: 1 (absolute)
    "batch_time_s": "REAL",  # the wall time of the execution its lanes shared (time_s is its share)
    "threads": "TEXT",  # JSON: the threads XLA and BLAS ran on (see optbench.drive.threads)
}
ADDED = (
    "metrics",
    "n_params",
    "host",
    "device",
    "float64",
    "versions",
    "cache_hit",
    "best_fun",
    "in_bounds",
    "target_scale",
    "batch_time_s",
    "threads",
)
TRACES = ("run_id", "step", "nfev", "njev", "time_s", "loss", "best_loss", "metrics", "epochs")
# The columns of a loaded runs table; anything else in it is a problem metric.
RUN_COLUMNS = frozenset(RUNS) - {"metrics"}
# Columns the analysis adds to a runs table (see optbench.analysis.selection).
DERIVED_COLUMNS = frozenset({"config", "budget_label"})
# What the first release's tables had, by which its unstamped databases are recognised.
_FIRST_RUNS = frozenset(RUNS) - set(ADDED)
_FIRST_TRACES = frozenset(TRACES) - {"metrics", "epochs"}

DDL = (
    "CREATE TABLE IF NOT EXISTS runs (\n"
    + ",\n".join(f"    {name} {kind}" for name, kind in RUNS.items())
    + "\n);\n"
    + """CREATE TABLE IF NOT EXISTS traces (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    step INTEGER NOT NULL,
    nfev INTEGER NOT NULL,
    njev INTEGER NOT NULL,
    time_s REAL NOT NULL,
    loss REAL,
    best_loss REAL,
    metrics TEXT,
    epochs REAL
);
CREATE INDEX IF NOT EXISTS traces_run ON traces(run_id);
CREATE TABLE IF NOT EXISTS fronts (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    point INTEGER NOT NULL,
    objectives TEXT NOT NULL,
    params TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS fronts_run ON fronts(run_id);
CREATE TABLE IF NOT EXISTS tuning (
    run_id TEXT NOT NULL,
    optimizer TEXT NOT NULL,
    study INTEGER NOT NULL,
    role TEXT NOT NULL,
    tuned TEXT NOT NULL,
    rule TEXT NOT NULL,
    tuning TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS tuning_role ON tuning(run_id, tuning, study, role);
CREATE TABLE IF NOT EXISTS plugins (
    folder TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL,
    recorded REAL NOT NULL
);
"""
)


class Kind(enum.Enum):
    """What an SQLite file is, to optbench."""

    EMPTY = "empty"  # no tables yet: optbench may make it a results database
    CURRENT = "current"  # written by this optbench's schema, or an earlier one it migrates
    NEWER = "newer"  # written by a newer optbench: readable, not writable
    FOREIGN = "foreign"  # some other program's database


def identify(conn: sqlite3.Connection) -> tuple[Kind, str]:
    """The kind of database ``conn`` holds, and for a foreign one, why it is not ours."""
    application_id = conn.execute("PRAGMA application_id").fetchone()[0]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if application_id == APPLICATION_ID:
        return (Kind.NEWER, f"schema {version}") if version > SCHEMA_VERSION else (Kind.CURRENT, "")
    if application_id != 0:
        return Kind.FOREIGN, f"it belongs to another program (application id {application_id:#x})"
    if not tables:
        return Kind.EMPTY, ""
    missing = _missing(conn, "runs", _FIRST_RUNS, tables) or _missing(conn, "traces", _FIRST_TRACES, tables)
    if missing:
        listed = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
        return Kind.FOREIGN, f"its tables ({listed}) are not optbench's: {missing}"
    return Kind.CURRENT, ""


def columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


def create_or_migrate(conn: sqlite3.Connection) -> None:
    """Create the tables, or bring an earlier optbench's up to this schema, and stamp the
    file; one transaction, which is also the proof that the file can be written."""
    with conn:
        conn.execute("BEGIN IMMEDIATE")
        for statement in DDL.split(";"):
            if statement.strip():
                conn.execute(statement)
        present = set(columns(conn, "runs"))
        for name in ADDED:
            if name not in present:
                conn.execute(f"ALTER TABLE runs ADD COLUMN {name} {RUNS[name]}")
        present = set(columns(conn, "traces"))
        if "metrics" not in present:
            conn.execute("ALTER TABLE traces ADD COLUMN metrics TEXT")
        if "epochs" not in present:  # earlier runs were full-batch only: one pass per evaluation
            conn.execute("ALTER TABLE traces ADD COLUMN epochs REAL")
            conn.execute("UPDATE traces SET epochs = nfev")
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _missing(conn: sqlite3.Connection, table: str, needed: frozenset[str], tables: set[str]) -> str:
    if table not in tables:
        return f"no {table} table"
    lacking = needed - set(columns(conn, table))
    return f"its {table} table lacks {', '.join(sorted(lacking))}" if lacking else ""
