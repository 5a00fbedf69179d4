"""Opening a results database safely, and writing to it while others read it.

Every check happens before any run: a folder, a file that is not SQLite, a damaged file,
another program's database, a newer optbench's database, a read-only file or folder each
end in one message. Writers use SQLite's WAL journal, so readers (``optbench table``, a
notebook, an ``sqlite3`` shell) never block them; a writer that finds the database locked
by another writer waits and retries, saying so, instead of losing what it computed.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from optbench.errors import OptbenchError
from optbench.store.schema import Kind, create_or_migrate, identify

SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT_S = 30.0  # SQLite's own wait for a lock, per attempt
LOCK_PATIENCE_S = 600.0  # how long a writer keeps retrying before it gives up, saying why

T = TypeVar("T")


def is_sqlite_file(path: str | Path) -> bool:
    """Whether ``path`` is an existing SQLite database file (by its header)."""
    try:
        with open(path, "rb") as file:
            return file.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError:
        return False


def output_refusal(path: Path, db: str | None) -> str | None:
    """Why a file optbench writes (a view, an export) may not replace ``path``, as the end
    of a sentence that starts with the path, or None where it may: never a folder, a
    device or pipe (renaming over /dev/null replaces the device with a file), the results
    database ``db`` or any other SQLite database."""
    if path.is_dir():
        return "is a folder"
    if path.exists() and not path.is_file():
        return "is not a regular file (a device, a pipe)"
    if (db is not None and path.exists() and path.resolve() == Path(db).resolve()) or is_sqlite_file(path):
        return "is an SQLite database; optbench never writes over one"
    return None


def open_for_writing(path: str) -> sqlite3.Connection:
    """A connection that may store runs in ``path``, created if missing; every reason it
    could not is raised here, before any run."""
    if path == ":memory:":
        conn = sqlite3.connect(path)
        create_or_migrate(conn)
        return conn
    _check_name(path)
    target = Path(path)
    _check_file(target, create=True)
    if target.exists() and not (os.access(target, os.W_OK) and os.access(target.parent, os.W_OK)):
        where = "file" if not os.access(target, os.W_OK) else "folder"
        raise OptbenchError(f"results database {path!r} is read-only (its {where}); give a writable --db")
    new = not target.exists()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S)
    except (sqlite3.Error, OSError) as err:
        raise OptbenchError(f"cannot open results database {path!r}: {err}") from None
    try:
        _prepare(conn, path)
    except BaseException:
        conn.close()
        if new:  # a file this call created and could not make a database (a full disk): not left behind
            for leftover in (target, *(target.with_name(target.name + end) for end in ("-journal", "-wal", "-shm"))):
                with contextlib.suppress(OSError):
                    leftover.unlink()
        raise
    return conn


def _prepare(conn: sqlite3.Connection, path: str) -> None:
    """Check the database ``conn`` opened and bring it to this schema, ready to write."""
    try:
        kind, why = _identified(conn, path)
        if kind is Kind.NEWER:
            raise OptbenchError(
                f"results database {path!r} was written by a newer optbench ({why}); this one can read it but "
                "not add to it: upgrade optbench, or give another --db"
            )
        _check_intact(conn, path)
        retrying(lambda: create_or_migrate(conn), path, "prepare")  # a real write: read-only shows here
        retrying(lambda: conn.execute("PRAGMA journal_mode = WAL").fetchone(), path, "prepare")
    except sqlite3.Error as err:
        raise OptbenchError(f"cannot write to results database {path!r}: {err}") from None


def open_for_reading(path: str) -> sqlite3.Connection:
    """A read-only connection to the existing results database ``path``."""
    if path == ":memory:":
        return sqlite3.connect(path)
    _check_name(path)
    target = Path(path)
    _check_file(target, create=False)
    if target.stat().st_size == 0:  # an empty file (or one of /proc's, which say 0): nothing to read
        raise OptbenchError(
            f"the results database {path!r} is an empty file and holds no runs; `optbench run` adds some"
        )
    uri = target.resolve().as_uri()
    conn = None
    try:
        try:
            conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
            kind, _ = _identified(conn, path)
        except sqlite3.OperationalError:
            # A WAL database in a folder this user cannot write: read it as a fixed file.
            if conn is not None:
                conn.close()
            conn = sqlite3.connect(f"{uri}?immutable=1", uri=True)
            kind, _ = _identified(conn, path)
        if kind is Kind.EMPTY:
            raise OptbenchError(
                f"{path!r} is an SQLite file without tables: it holds no runs; `optbench run` adds some"
            )
    except OptbenchError:
        if conn is not None:
            conn.close()
        raise
    except sqlite3.Error as err:
        if conn is not None:
            conn.close()
        raise OptbenchError(f"cannot read results database {path!r}: {err}") from None
    return conn


def retrying(write: Callable[[], T], path: str, what: str = "store a run in") -> T:
    """``write()``, retried while another process holds the database's write lock."""
    started = time.monotonic()
    while True:
        try:
            return write()
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) and "busy" not in str(err):
                raise
            waited = time.monotonic() - started
            if waited >= LOCK_PATIENCE_S:
                raise OptbenchError(
                    f"cannot {what} {path!r}: another process has held its write lock for {waited:.0f} s; "
                    "close it and run the same command again (finished runs are stored)"
                ) from None
            print(f"optbench: {path} is locked by another writer; waiting ({waited:.0f} s so far)", file=sys.stderr)


def _check_file(target: Path, *, create: bool) -> None:
    try:
        _check_path(target, create=create)
    except OSError as err:  # a folder on the way this user may not enter, ...
        raise OptbenchError(f"cannot use results database {str(target)!r}: {err.strerror or err}") from None


def _check_name(path: str) -> None:
    """A results database's name must name a file: not standard input, not blank, not a folder."""
    if path.strip() in ("", "-"):
        raise OptbenchError(
            f"--db {path!r} names no file (optbench reads and writes a database file, not standard input); "
            "give a path such as results/optbench.sqlite"
        )
    if path != path.strip():
        raise OptbenchError(f"--db {path!r} begins or ends with spaces; give the path without them")
    if path.endswith(("/", os.sep)):
        raise OptbenchError(f"--db {path!r} names a folder; give a file inside it, such as {path}optbench.sqlite")


def _check_path(target: Path, *, create: bool) -> None:
    if target.is_dir():
        raise OptbenchError(f"results database {str(target)!r} is a directory, not a file")
    if target.exists() and not target.is_file():  # a FIFO would hang a read, a device take a journal beside it
        raise OptbenchError(f"results database {str(target)!r} is not a regular file (a device, a pipe, a socket)")
    if not target.exists():
        if create:
            return
        raise OptbenchError(f"no results database at {str(target)!r}; `optbench run` creates one")
    if target.stat().st_size and not is_sqlite_file(target):
        raise OptbenchError(f"{str(target)!r} is not an SQLite database; give an optbench results database as --db")


def _identified(conn: sqlite3.Connection, path: str) -> tuple[Kind, str]:
    try:
        kind, why = identify(conn)
    except sqlite3.OperationalError:  # could not open or lock: the caller says which
        raise
    except sqlite3.DatabaseError as err:
        raise OptbenchError(f"results database {path!r} is damaged or not a database: {err}") from None
    if kind is Kind.FOREIGN:
        raise OptbenchError(f"{path!r} is not an optbench results database: {why}; give another --db")
    return kind, why


def _check_intact(conn: sqlite3.Connection, path: str) -> None:
    """SQLite's own structural check (about 1 s per 500 MB), so a damaged file is never written into."""
    try:
        # SQLite's report may run over lines: one line each, for a one-line message.
        problems = [" ".join(row[0].split()) for row in conn.execute("PRAGMA quick_check(3)")]
    except sqlite3.DatabaseError as err:
        problems = [str(err)]
    if problems != ["ok"]:
        raise OptbenchError(
            f"results database {path!r} is damaged ({'; '.join(problems)}); nothing was written to it. "
            "Keep a copy, and try `sqlite3 FILE .recover` to save its runs"
        )
