"""The results database: SQLite, one transaction per finished run, read back with pandas."""

from __future__ import annotations

import json
import math
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from optbench.errors import OptbenchError
from optbench.result import TRACE_COLUMNS

if TYPE_CHECKING:
    import pandas as pd

    from optbench.result import Result
    from optbench.runner import RunSpec

DEFAULT_DB = Path("results") / "optbench.sqlite"

_RUNS = {
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
    "batch_size": "INTEGER NOT NULL",
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
}
_ADDED = ("n_params", "host", "device", "float64", "versions")
# The columns of a loaded runs table; anything else in it is a problem metric.
RUN_COLUMNS = frozenset(_RUNS) - {"metrics"}
# Columns the analysis adds to a runs table (see optbench.analysis.selection).
DERIVED_COLUMNS = frozenset({"config", "budget_label"})

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS runs (\n"
    + ",\n".join(f"    {name} {kind}" for name, kind in _RUNS.items())
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
"""
)


class Results(NamedTuple):
    """The stored runs (one row each) and their traces (one row per recorded step)."""

    runs: pd.DataFrame
    traces: pd.DataFrame


class ResultStore:
    """A results database at ``path`` (``":memory:"`` for one that lives in memory)."""

    def __init__(self, path: str | Path = DEFAULT_DB, *, create: bool = True):
        self.path = str(path)
        try:
            if self.path != ":memory:":
                target = Path(self.path)
                if target.is_dir():
                    raise OptbenchError(f"results database {self.path!r} is a directory, not a file")
                if not create and not target.exists():
                    raise OptbenchError(f"no results database at {self.path!r}; `optbench run` creates one")
                target.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(self.path)
            if create:
                self.conn.executescript(_SCHEMA)
                _migrate(self.conn)
                # Take and release the write lock now, so a read-only file fails before any run.
                self.conn.execute("BEGIN IMMEDIATE")
                self.conn.rollback()
            else:
                self.conn.execute("SELECT run_id FROM runs LIMIT 1")
        except (sqlite3.Error, OSError) as err:
            raise OptbenchError(f"cannot use results database {self.path!r}: {err}") from None

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run_ids(self) -> set[str]:
        return {row[0] for row in self.conn.execute("SELECT run_id FROM runs")}

    def add(self, run: RunSpec, result: Result) -> bool:
        """Store one finished run and its trace in one transaction; False if already stored."""
        from optbench import __version__
        from optbench.execution.provenance import provenance

        where = provenance()
        row = {
            "run_id": run.run_id,
            "suite": run.suite,
            "problem": run.problem,
            "problem_name": run.problem.split("[", 1)[0],
            "optimizer": run.optimizer.label,
            "optimizer_name": run.optimizer.name,
            "params": json.dumps(run.optimizer.params, sort_keys=True, default=str),
            "seed": run.seed,
            "budget": json.dumps(run.budget.as_dict(), sort_keys=True),
            "status": result.status.value,
            "message": result.message,
            "success": int(result.success),
            "fun": _real(result.fun),
            "nit": result.nit,
            "nfev": result.nfev,
            "njev": result.njev,
            "time_s": result.time_s,
            "compile_s": result.compile_s,
            "f_opt": _real(run.f_opt),
            "target": _real(run.target),
            "nfev_to_target": _real(result.nfev_to_target),
            "time_to_target": _real(result.time_to_target),
            "batch_size": result.batch_size,
            "x": _to_json(result.x),
            "metrics": json.dumps(result.metrics) if result.metrics else None,
            "version": __version__,
            "created": time.time(),
            "n_params": run.n_params,
            "host": where["host"],
            "device": where["device"],
            "float64": int(where["float64"] and run.dtype == "float64"),
            "versions": where["versions"],
        }
        metric_names = [c for c in result.trace.columns if c not in TRACE_COLUMNS]
        trace_rows = [
            (
                run.run_id,
                int(r["step"]),
                int(r["nfev"]),
                int(r["njev"]),
                float(r["time_s"]),
                _real(r["loss"]),
                _real(r["best_loss"]),
                _metrics_json(r, metric_names),
                float(r["epochs"]),
            )
            for r in result.trace.to_dict("records")
        ]
        columns = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        with self.conn:
            cursor = self.conn.execute(f"INSERT OR IGNORE INTO runs ({columns}) VALUES ({marks})", tuple(row.values()))
            if cursor.rowcount == 0:
                return False
            self.conn.executemany(
                "INSERT INTO traces (run_id, step, nfev, njev, time_s, loss, best_loss, metrics, epochs)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                trace_rows,
            )
            if result.front is not None:
                front = zip(result.front.objectives.tolist(), result.front.params.tolist())
                self.conn.executemany(
                    "INSERT INTO fronts (run_id, point, objectives, params) VALUES (?, ?, ?, ?)",
                    [(run.run_id, i, json.dumps(f), json.dumps(x)) for i, (f, x) in enumerate(front)],
                )
        return True

    def fronts(self, run_ids: Iterable[str] | None = None) -> pd.DataFrame:
        """The stored Pareto fronts: one row per point, with ``run_id``, ``point``, one
        column per objective (``f1``, ``f2``, ...) and ``x``, the flat parameter vector."""
        import numpy as np
        import pandas as pd

        if not _has_fronts(self.conn):  # a database from an earlier optbench, read as it is
            return pd.DataFrame(columns=["run_id", "point", "f1", "f2", "x"])
        rows = self.conn.execute("SELECT run_id, point, objectives, params FROM fronts ORDER BY run_id, point")
        wanted = None if run_ids is None else set(run_ids)
        records = [r for r in rows if wanted is None or r[0] in wanted]
        objectives = [json.loads(r[2]) for r in records]
        m = max((len(f) for f in objectives), default=2)
        table = pd.DataFrame(
            {
                "run_id": [r[0] for r in records],
                "point": [r[1] for r in records],
                **{f"f{k + 1}": [f[k] for f in objectives] for k in range(m)},
            }
        )
        table["x"] = [np.asarray(json.loads(r[3])) for r in records]
        return table

    def load(self, run_ids: Iterable[str] | None = None) -> Results:
        """The runs and traces, all of them or those with the given ids."""
        runs = self.runs(run_ids)
        return Results(runs, self.traces(None if run_ids is None else runs["run_id"]))

    def runs(self, run_ids: Iterable[str] | None = None) -> pd.DataFrame:
        """The runs table (one row per run, a column per metric), all or the given ids."""
        import pandas as pd

        runs = pd.read_sql_query(f"SELECT * FROM runs{self._where(run_ids)} ORDER BY created, run_id", self.conn)
        # A database from an earlier optbench, read without writing to it.
        for name in ("metrics", *_ADDED):
            if name not in runs:
                runs[name] = None
        for column in ("fun", "f_opt", "target", "nfev_to_target", "time_to_target"):
            runs[column] = runs[column].astype(float)
        return _expand_metrics(runs)

    def traces(self, run_ids: Iterable[str] | None = None) -> pd.DataFrame:
        """The trace rows of all runs or of the given ids, each run's rows in trace order."""
        import pandas as pd

        # Insertion order is trace order (a library run records several rows per step).
        traces = pd.read_sql_query(f"SELECT * FROM traces{self._where(run_ids)} ORDER BY run_id, rowid", self.conn)
        if "epochs" not in traces:  # an earlier optbench: full-batch runs only, one pass per evaluation
            traces["epochs"] = traces["nfev"]
        for column in ("loss", "best_loss", "epochs"):
            traces[column] = traces[column].astype(float)
        return _expand_metrics(traces)

    def _where(self, run_ids: Iterable[str] | None) -> str:
        """A WHERE clause selecting ``run_ids`` (through a temporary table), or none."""
        if run_ids is None:
            return ""
        self.conn.execute("CREATE TEMP TABLE IF NOT EXISTS wanted (run_id TEXT PRIMARY KEY)")
        self.conn.execute("DELETE FROM wanted")
        self.conn.executemany("INSERT OR IGNORE INTO wanted VALUES (?)", [(i,) for i in run_ids])
        return " WHERE run_id IN (SELECT run_id FROM wanted)"


def load_results(path: str | Path = DEFAULT_DB) -> Results:
    """Load a results database as ``(runs, traces)`` DataFrames."""
    with ResultStore(path, create=False) as store:
        return store.load()


def load_fronts(path: str | Path = DEFAULT_DB) -> pd.DataFrame:
    """Load the Pareto fronts of a results database (see ``ResultStore.fronts``)."""
    with ResultStore(path, create=False) as store:
        return store.fronts()


def _has_fronts(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND name='fronts'").fetchone() is not None


def _expand_metrics(table: pd.DataFrame) -> pd.DataFrame:
    """The JSON ``metrics`` column as one float column per metric."""
    import pandas as pd

    metrics = table.pop("metrics")
    if not metrics.notna().any():
        return table
    parsed = pd.DataFrame([json.loads(m) if isinstance(m, str) else {} for m in metrics], index=table.index)
    return pd.concat([table, parsed.astype(float)], axis=1)


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring a database written by an earlier optbench up to this schema."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
    if "metrics" not in columns:
        with conn:
            conn.execute("ALTER TABLE runs ADD COLUMN metrics TEXT")
    for name in _ADDED:
        if name not in columns:
            with conn:
                conn.execute(f"ALTER TABLE runs ADD COLUMN {name} {_RUNS[name]}")
    if "epochs" not in {row[1] for row in conn.execute("PRAGMA table_info(traces)")}:
        with conn:  # earlier runs were full-batch only: one pass per evaluation
            conn.execute("ALTER TABLE traces ADD COLUMN epochs REAL")
            conn.execute("UPDATE traces SET epochs = nfev")


def _real(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else (None if math.isnan(value) else value)


def _metrics_json(row: dict[str, Any], names: list[str]) -> str | None:
    values = {n: float(row[n]) for n in names if row[n] is not None and not math.isnan(float(row[n]))}
    return json.dumps(values) if values else None


def _to_json(x: Any) -> str | None:
    if x is None:
        return None
    import numpy as np

    def convert(value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): convert(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [convert(v) for v in value]
        return np.asarray(value, dtype=float).tolist()

    return json.dumps(convert(x))
