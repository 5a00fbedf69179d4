"""Compiled programs kept in memory, made once even when two threads ask for them.

A suite compiles the programs of the groups ahead on background threads while the
current group runs (see ``optbench.execute.precompile``); a run then finds its programs
made, or waits for the thread making them. Either way the run that uses a program first
is told what compiling it cost, so its ``compile_s`` and ``cache_hit`` stay honest; later
runs are told nothing (they reused the programs in memory).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from optbench.caches import compile_cache


@dataclass(frozen=True)
class CompileCost:
    """What making a program cost: seconds on the thread that compiled it, and whether
    JAX read it from the persistent compilation cache."""

    seconds: float
    from_cache: bool


def combined(costs: list[CompileCost | None]) -> tuple[float, bool | None]:
    """A run's compile seconds and ``cache_hit`` from what its programs cost it (None for
    a program reused in memory): the seconds summed; read from the persistent cache only
    if every program it compiled was, and None where it compiled nothing."""
    paid = [cost for cost in costs if cost is not None]
    return sum(cost.seconds for cost in paid), (all(cost.from_cache for cost in paid) if paid else None)


@dataclass
class _Entry:
    made: Future
    claimed: bool = False


class ProgramCache:
    """Keeps the ``size`` most recently used values; keys hold their problem alive, so an
    object's id is never reused for another while its entry exists. Thread-safe."""

    def __init__(self, size: int = 64):
        self.size = size
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, make: Callable[[], Any]) -> tuple[Any, CompileCost | None]:
        """The value for ``key``, made now (or by another thread) if absent; and what it
        cost, for the first caller that uses it (None for every later one)."""
        entry, owner = self._entry(key)
        if owner:
            self._make(key, entry, make)
        value, cost = entry.made.result()
        with self._lock:
            first, entry.claimed = not entry.claimed, True
        return value, cost if first else None

    def prefetch(self, key: Hashable, make: Callable[[], Any]) -> Any:
        """Make the value for ``key`` now, unless it is held or being made, leaving its
        cost for the first caller of ``get``; the value, or None where making it failed
        (the caller of ``get`` then meets the error as its own)."""
        entry, owner = self._entry(key)
        if owner:
            self._make(key, entry, make)
        return None if entry.made.exception() else entry.made.result()[0]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def _entry(self, key: Hashable) -> tuple[_Entry, bool]:
        with self._lock:
            entry = self._entries.get(key)
            owner = entry is None
            if owner:
                entry = self._entries[key] = _Entry(Future())
                if len(self._entries) > self.size:
                    self._entries.popitem(last=False)
            self._entries.move_to_end(key)
            return entry, owner

    def _make(self, key: Hashable, entry: _Entry, make: Callable[[], Any]) -> None:
        before = compile_cache.counts()
        started = time.perf_counter()
        try:
            value = make()
        except BaseException as err:
            with self._lock:  # not kept: the next caller tries again
                if self._entries.get(key) is entry:
                    del self._entries[key]
            entry.made.set_exception(err)
            if not isinstance(err, Exception):
                raise
            return
        cost = CompileCost(time.perf_counter() - started, compile_cache.from_cache(before))
        entry.made.set_result((value, cost))
