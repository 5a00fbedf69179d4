"""JAX's persistent compilation cache: on by default, in a per-user folder.

A comparison spends most of its first minute compiling; with the cache on, a second
process reads the compiled programs back instead (the 36-run comparison of issue 12, in
a new process: 18.9 s cold, 5.7 s warm). The folder is ``$OPTBENCH_CACHE_DIR/jax``, else
``$XDG_CACHE_HOME/optbench/jax``, else ``~/.cache/optbench/jax``. One folder serves every
version and device: JAX's cache key hashes the jaxlib version, the backend's version and
the devices, so an entry is never read by another version or on another device.

``OPTBENCH_COMPILE_CACHE=0`` (or ``optbench run --no-compile-cache``) switches it off. A
``JAX_COMPILATION_CACHE_DIR`` the user set wins over optbench's folder. This module is
imported with ``optbench`` itself, before JAX, so it must not import JAX at the top.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
from pathlib import Path
from typing import Any

from optbench.errors import OptbenchError

DIR_VARIABLE = "OPTBENCH_CACHE_DIR"
SWITCH_VARIABLE = "OPTBENCH_COMPILE_CACHE"
# Every program is cached, however fast it compiled (JAX's default skips those under 1 s).
_SETTINGS = {"JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0", "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0"}
_counts = threading.local()  # persistent-cache hits and misses per thread, once counting starts
_tracking = [False]


def cache_dir() -> Path:
    """The folder of optbench's compiled programs."""
    root = os.environ.get(DIR_VARIABLE) or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "optbench"
    )
    return Path(root) / "jax"


def enabled() -> bool:
    return os.environ.get(SWITCH_VARIABLE, "1").strip().lower() not in ("0", "false", "no", "off")


def configure() -> None:
    """Point JAX at the cache folder, or switch its cache off (``OPTBENCH_COMPILE_CACHE=0``).
    Before JAX is imported this sets its environment variables; after, its config."""
    if not enabled():
        _set("JAX_ENABLE_COMPILATION_CACHE", "false", force=True)
        return
    _set("JAX_COMPILATION_CACHE_DIR", str(cache_dir()))
    for name, value in _SETTINGS.items():
        _set(name, value)


def disable() -> None:
    """Switch the cache off for this process (``--no-compile-cache``), before any compile."""
    os.environ[SWITCH_VARIABLE] = "0"
    configure()


def counts() -> tuple[int, int]:
    """How many programs this thread has read from the persistent cache, and how many it
    looked up there and had to compile, since counting started (at the first call).
    Counted per thread: programs compile on several threads at once (JAX reports each
    lookup on the thread that compiles)."""
    if not _tracking[0]:
        import jax

        def count(event: str, **kwargs: Any) -> None:
            if event == "/jax/compilation_cache/cache_hits":
                _count("hits")
            elif event == "/jax/compilation_cache/cache_misses":
                _count("misses")

        jax.monitoring.register_event_listener(count)
        _tracking[0] = True
    return getattr(_counts, "hits", 0), getattr(_counts, "misses", 0)


def _count(name: str) -> None:
    setattr(_counts, name, getattr(_counts, name, 0) + 1)


def from_cache(before: tuple[int, int]) -> bool:
    """Whether everything this thread compiled since ``counts()`` gave ``before`` was read
    from the persistent cache: some programs were, and none had to be compiled."""
    hits, misses = counts()
    return hits > before[0] and misses == before[1]


# What JAX's persistent cache writes into its folder (jax/_src/lru_cache.py): per program
# ``<module name>-<sha256 hex>-cache`` and its ``-atime`` stamp, and a lock file. Nothing
# else is ever counted or deleted, so a cache folder set to ``~`` or ``/`` loses nothing.
_ENTRY = re.compile(r"[A-Za-z0-9_.]+-[0-9a-f]{64}-(cache|atime)")
_LOCK = ".lockfile"


def folder() -> Path:
    """The folder JAX caches in: the user's ``JAX_COMPILATION_CACHE_DIR``, else optbench's."""
    return Path(os.environ.get("JAX_COMPILATION_CACHE_DIR") or cache_dir())


def _entries(where: Path) -> tuple[list[Path], list[str]]:
    """The cache's own files in ``where`` (not followed into subfolders or through links),
    and the names of everything else there."""
    try:
        names = sorted(os.listdir(where)) if where.is_dir() else []
    except OSError as err:
        raise OptbenchError(f"cannot read the compilation cache folder {str(where)!r}: {err.strerror}") from None
    ours: list[Path] = []
    other: list[str] = []
    for name in names:
        path = where / name
        if path.is_file() and not path.is_symlink() and (_ENTRY.fullmatch(name) or name == _LOCK):
            ours.append(path)
        else:
            other.append(name)
    return ours, other


def info() -> dict[str, Any]:
    """Where the cache is, whether it is on, how many compiled programs it holds and their
    size, and how many other entries share its folder (never counted as programs)."""
    where = folder()
    return _described(where, *_entries(where))


def _described(where: Path, ours: list[Path], other: list[str]) -> dict[str, Any]:
    """What ``info`` says of a folder whose entries have been listed."""
    size = 0
    for path in ours:
        with contextlib.suppress(OSError):  # removed by another process meanwhile
            size += path.stat().st_size
    return {
        "folder": str(where),
        "enabled": enabled(),
        "entries": sum(p.name.endswith("-cache") for p in ours),
        "bytes": size,
        "other": other,
    }


def clear() -> dict[str, Any]:
    """Delete every cached program (and only those); returns what was there. A folder that
    holds anything else is refused whole: it is not a cache folder, whatever it is called."""
    where = folder()
    ours, other = _entries(where)
    if other:
        shown = ", ".join(repr(name) for name in other[:3]) + (", ..." if len(other) > 3 else "")
        raise OptbenchError(
            f"{where} holds {len(other)} entr{'y' if len(other) == 1 else 'ies'} that JAX's cache did not write "
            f"({shown}), so it is not only a compilation cache; nothing was deleted. Point "
            "JAX_COMPILATION_CACHE_DIR (or OPTBENCH_CACHE_DIR) at a folder of its own"
        )
    held = _described(where, ours, other)
    for path in ours:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    return held


def _set(name: str, value: str, force: bool = False) -> None:
    if force or name not in os.environ:
        os.environ[name] = value
    if "jax" in sys.modules:  # JAX read its environment when it was imported
        sys.modules["jax"].config.update(name.lower(), _typed(os.environ[name]))


def _typed(text: str) -> Any:
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    try:
        return float(text) if "." in text else int(text)
    except ValueError:
        return text
