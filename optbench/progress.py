"""Progress on stderr: a one-line bar on a terminal (runs done, runs left, elapsed time);
elsewhere, or with the bar turned off, a line per finished group of runs (a log file, CI)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Counts finished runs; draws the bar only when asked to and the stream is a
    terminal, and otherwise says each group's end in a line."""

    def __init__(self, total: int, stream: TextIO | None = None, show: bool = True, width: int = 30):
        stream = stream or sys.stderr  # the stream of now, not of the import (a notebook or a test may swap it)
        self.total, self.done, self.stream, self.width = total, 0, stream, width
        self.enabled = show and total > 0 and stream.isatty()
        self.started = time.perf_counter()
        self.draw()

    def update(self, n: int) -> None:
        self.done += n
        self.draw()

    def draw(self) -> None:
        if not self.enabled:
            return
        filled = int(self.width * self.done / self.total)
        elapsed = int(time.perf_counter() - self.started)
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(
            f"\r[{bar}] {self.done}/{self.total} runs, {self.total - self.done} left, "
            f"{elapsed // 60:02d}:{elapsed % 60:02d} elapsed"
        )
        self.stream.flush()

    def group_done(self, problem: str, optimizer: str, statuses: list[str]) -> None:
        """All runs of one problem and configuration are stored: a line, where no bar is drawn."""
        if self.enabled:
            return
        counts = ", ".join(f"{statuses.count(s)} {s}" for s in dict.fromkeys(statuses))
        self.stream.write(f"[{self.done}/{self.total}] {problem} {optimizer}: {counts}\n")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
