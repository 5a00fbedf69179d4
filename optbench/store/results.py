"""The results database: SQLite, one transaction per finished run, read back with pandas."""

from __future__ import annotations

import contextlib
import json
import math
import sqlite3
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import optbench  # its __version__, read when a run is stamped
from optbench.errors import OptbenchError
from optbench.result import TRACE_COLUMNS
from optbench.store.connection import open_for_reading, open_for_writing, retrying
from optbench.store.schema import ADDED, RUNS, TRACES, columns

if TYPE_CHECKING:
    import pandas as pd

    from optbench.drive.run_spec import RunSpec
    from optbench.result import Result

DEFAULT_DB = Path("results") / "optbench.sqlite"
# A run's final parameters are stored (as JSON) up to this many; above it, not at all, and
# its message says so: 16.8 M parameters were 383 MB of text per run.
MAX_STORED_PARAMS = 100_000


class Results(NamedTuple):
    """The stored runs (one row each) and their traces (one row per recorded step)."""

    runs: pd.DataFrame
    traces: pd.DataFrame


class ResultStore:
    """A results database at ``path`` (``":memory:"`` for one that lives in memory).

    With ``create`` (the default) it is opened for writing, and created if missing; every
    reason it could not be written (read-only, damaged, another program's, a newer
    optbench's) is an ``OptbenchError`` here, before any run. Without, it is only read.
    """

    def __init__(self, path: str | Path = DEFAULT_DB, *, create: bool = True):
        self.path = str(path)
        self.conn = open_for_writing(self.path) if create else open_for_reading(self.path)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run_ids(self, status: str | None = None) -> set[str]:
        """The ids of the stored runs, or of those that ended with ``status``."""
        with self._reading():
            if status is None:
                return {row[0] for row in self.conn.execute("SELECT run_id FROM runs")}
            return {row[0] for row in self.conn.execute("SELECT run_id FROM runs WHERE status = ?", (status,))}

    def add(self, run: RunSpec, result: Result, *, replace: bool = False) -> bool:
        """Store one finished run and its trace in one transaction; False if a run with its
        id is already stored (and ``replace`` is not asked for, which swaps the stored one
        for this one in that same transaction). Any other failure to store is an error."""
        row, trace_rows, front_rows = _rows(run, result)
        names = ", ".join(row)
        marks = ", ".join("?" for _ in row)

        def write() -> bool:
            with self.conn:
                if replace:
                    for table in ("traces", "fronts", "runs"):
                        self.conn.execute(f"DELETE FROM {table} WHERE run_id = ?", (run.run_id,))
                cursor = self.conn.execute(
                    f"INSERT INTO runs ({names}) VALUES ({marks}) ON CONFLICT(run_id) DO NOTHING", tuple(row.values())
                )
                if cursor.rowcount == 0:
                    return False
                self.conn.executemany(
                    f"INSERT INTO traces ({', '.join(TRACES)}) VALUES ({', '.join('?' for _ in TRACES)})", trace_rows
                )
                self.conn.executemany(
                    "INSERT INTO fronts (run_id, point, objectives, params) VALUES (?, ?, ?, ?)", front_rows
                )
            return True

        try:
            return retrying(write, self.path)
        except sqlite3.Error as err:
            raise OptbenchError(
                f"cannot store run {run.run_id} ({run.problem}, {run.optimizer.label}, seed {run.seed}) in "
                f"{self.path!r}: {err}; the runs stored before it are kept"
            ) from None

    def remember_plugins(self, digests: dict[str, str]) -> None:
        """Record the plugin folders (absolute path -> content hash) runs were made with, so
        that readers can load them again without ``--plugins``; a folder's latest hash wins."""
        now = time.time()
        rows = [(folder, digest, now) for folder, digest in digests.items()]

        def write() -> None:
            with self.conn:
                self.conn.executemany("INSERT OR REPLACE INTO plugins VALUES (?, ?, ?)", rows)  # folder, sha256, when

        retrying(write, self.path, "record plugin folders in")

    def remember_tuning(self, rows: Iterable[tuple[str, str, int, str, list[str], str, str]]) -> None:
        """Record what runs were to a tuning (``optbench.tuning.study``): each run's id, the
        optimizer as it was tuned, its study (-1 for a default), its role (trial, tuned,
        default), the hyperparameters tuned, the rule and the tuning's id; a row recorded
        before is kept."""
        values = [
            (run_id, optimizer, study, role, json.dumps(tuned), rule, tuning)
            for run_id, optimizer, study, role, tuned, rule, tuning in rows
        ]

        def write() -> None:
            with self.conn:
                self.conn.executemany("INSERT OR IGNORE INTO tuning VALUES (?, ?, ?, ?, ?, ?, ?)", values)

        retrying(write, self.path, "record the tuning in")

    def tuning(self) -> pd.DataFrame:
        """The recorded tuning roles (``remember_tuning``): run_id, optimizer, study, role,
        ``tuned`` (the list of hyperparameters tuned), rule and tuning (its id); none in a
        database without tunings."""
        import pandas as pd

        tables = {row[0] for row in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "tuning" not in tables:  # a database from an earlier optbench, read as it is
            return pd.DataFrame(columns=["run_id", "optimizer", "study", "role", "tuned", "rule", "tuning"])
        with self._reading():
            names = ("run_id", "optimizer", "study", "role", "tuned", "rule", "tuning")
            known = [c for c in names if c in columns(self.conn, "tuning")]
            table = pd.read_sql_query(f"SELECT {', '.join(known)} FROM tuning ORDER BY rowid", self.conn)
        if "rule" not in table:  # written while the tuning table was new: every tuning then was by loss
            table["rule"] = "loss"
        if "tuning" not in table:
            table["tuning"] = ""
        table["tuned"] = [json.loads(names) for names in table["tuned"]]
        return table

    def plugin_folders(self) -> dict[str, str]:
        """The plugin folders runs stored here were made with, and each one's content hash then."""
        tables = {row[0] for row in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "plugins" not in tables:  # an earlier optbench's database
            return {}
        with self._reading():
            return dict(self.conn.execute("SELECT folder, sha256 FROM plugins ORDER BY folder").fetchall())

    def fronts(self, run_ids: Iterable[str] | None = None) -> pd.DataFrame:
        """The stored Pareto fronts: one row per point, with ``run_id``, ``point``, one
        column per objective (``f1``, ``f2``, ...) and ``x``, the flat parameter vector."""
        import numpy as np
        import pandas as pd

        if not _has_fronts(self.conn):  # a database from an earlier optbench, read as it is
            return pd.DataFrame(columns=["run_id", "point", "f1", "f2", "x"])
        with self._reading():
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

        # Only the columns this optbench knows: a newer one's additions are left alone.
        known = [c for c in columns(self.conn, "runs") if c in RUNS]
        query = f"SELECT {', '.join(known)} FROM runs{self._where(run_ids)} ORDER BY created, run_id"
        with self._reading():
            runs = pd.read_sql_query(query, self.conn)
        # A database from an earlier optbench, read without writing to it.
        for name in ADDED:
            if name not in runs:
                runs[name] = None
        for column in ("fun", "best_fun", "f_opt", "target", "nfev_to_target", "time_to_target", "target_scale"):
            runs[column] = runs[column].astype(float)
        runs["cache_hit"] = runs["cache_hit"].astype("boolean")  # NA: reused in memory, or nothing compiled
        runs["in_bounds"] = runs["in_bounds"].astype("boolean")  # NA: no bounds, or no point
        return _expand_metrics(runs)

    def traces(self, run_ids: Iterable[str] | None = None) -> pd.DataFrame:
        """The trace rows of all runs or of the given ids, each run's rows in trace order."""
        import pandas as pd

        # Insertion order is trace order (a library run records several rows per step).
        known = [c for c in columns(self.conn, "traces") if c in TRACES]
        query = f"SELECT {', '.join(known)} FROM traces{self._where(run_ids)} ORDER BY run_id, rowid"
        with self._reading():
            traces = pd.read_sql_query(query, self.conn)
        if "metrics" not in traces:
            traces["metrics"] = None
        if "epochs" not in traces:  # an earlier optbench: full-batch runs only, one pass per evaluation
            traces["epochs"] = traces["nfev"]
        for column in ("loss", "best_loss", "epochs"):
            traces[column] = traces[column].astype(float)
        return _expand_metrics(traces)

    @contextlib.contextmanager
    def _reading(self) -> Iterator[None]:
        """Reading errors as one message: a file damaged where no check looked."""
        try:
            yield
        except sqlite3.DatabaseError as err:
            raise OptbenchError(f"cannot read results database {self.path!r}: {err}") from None

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


def _rows(run: RunSpec, result: Result) -> tuple[dict[str, Any], list[tuple], list[tuple]]:
    """A run's row, its trace rows and its front rows, as stored."""
    from optbench.provenance import provenance

    where = provenance()
    x, message = _to_json(result.x), result.message
    if x is None and result.x is not None:
        message += f"{'; ' if message else ''}final parameters not stored (over {MAX_STORED_PARAMS:,})"
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
        "message": message,
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
        "batch_size": result.lanes,
        "x": x,
        "metrics": json.dumps(result.metrics) if result.metrics else None,
        "version": optbench.__version__,
        "created": time.time(),
        "n_params": run.n_params,
        "host": where["host"],
        "device": where["device"],
        "float64": int(where["float64"] and run.dtype == "float64"),
        "versions": where["versions"],
        "cache_hit": None if result.cache_hit is None else int(result.cache_hit),
        "best_fun": _real(result.best_fun),
        "in_bounds": None if result.in_bounds is None else int(result.in_bounds),
        "target_scale": _real(run.target_scale),
        "batch_time_s": result.batch_time_s,
        "threads": None if result.threads is None else json.dumps(result.threads, sort_keys=True),
    }
    trace = result.trace
    metric_names = [c for c in trace.columns if c not in TRACE_COLUMNS]
    # Column by column: pandas' to_dict("records") was most of a short run's storing time.
    columns = {name: trace[name].to_numpy().tolist() for name in trace.columns}
    trace_rows = []
    for i, (step, nfev, njev, t, loss, best, epochs) in enumerate(
        zip(*(columns[n] for n in ("step", "nfev", "njev", "time_s", "loss", "best_loss", "epochs")))
    ):
        metrics = _metrics_json({n: columns[n][i] for n in metric_names}, metric_names)
        trace_rows.append((run.run_id, int(step), int(nfev), int(njev), float(t), _real(loss), _real(best), metrics,
                           float(epochs)))  # fmt: skip
    front_rows = []
    if result.front is not None:
        front = zip(result.front.objectives.tolist(), result.front.params.tolist())
        front_rows = [(run.run_id, i, json.dumps(f), json.dumps(x)) for i, (f, x) in enumerate(front)]
    return row, trace_rows, front_rows


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


def _real(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else (None if math.isnan(value) else value)


def _metrics_json(row: dict[str, Any], names: list[str]) -> str | None:
    values = {n: float(row[n]) for n in names if row[n] is not None and not math.isnan(float(row[n]))}
    return json.dumps(values) if values else None


def _to_json(x: Any) -> str | None:
    """The parameters as JSON (nested like the pytree), or None over ``MAX_STORED_PARAMS``."""
    if x is None:
        return None
    import jax
    import numpy as np

    if sum(np.size(leaf) for leaf in jax.tree_util.tree_leaves(x)) > MAX_STORED_PARAMS:
        return None

    def convert(value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): convert(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [convert(v) for v in value]
        return np.asarray(value, dtype=float).tolist()

    return json.dumps(convert(x))
