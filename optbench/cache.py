"""A small least-recently-used cache for compiled programs."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any


class CompiledCache:
    """Keeps the ``size`` most recently used values; keys hold their problem alive, so an
    object's id is never reused for another while its entry exists."""

    def __init__(self, size: int = 64):
        self.size = size
        self.entries: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable, make: Callable[[], Any]) -> tuple[Any, bool]:
        """The value for ``key``, made now if absent; and whether it was made."""
        made = key not in self.entries
        if made:
            self.entries[key] = make()
            if len(self.entries) > self.size:
                self.entries.popitem(last=False)
        self.entries.move_to_end(key)
        return self.entries[key], made

    def clear(self) -> None:
        self.entries.clear()

    def __len__(self) -> int:
        return len(self.entries)
