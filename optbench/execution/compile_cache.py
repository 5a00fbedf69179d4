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

import os
import shutil
import sys
import threading
from pathlib import Path
from typing import Any

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


def info() -> dict[str, Any]:
    """Where the cache is, whether it is on, and what it holds."""
    folder = Path(os.environ.get("JAX_COMPILATION_CACHE_DIR") or cache_dir())
    files = [p for p in folder.rglob("*") if p.is_file()] if folder.is_dir() else []
    return {
        "folder": str(folder),
        "enabled": enabled(),
        "entries": len(files),
        "bytes": sum(p.stat().st_size for p in files),
    }


def clear() -> dict[str, Any]:
    """Delete every cached program; returns what was there."""
    held = info()
    folder = Path(held["folder"])
    if folder.is_dir():
        shutil.rmtree(folder)
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
