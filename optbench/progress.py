"""Progress of a set of runs: tqdm's bar on a terminal and in a notebook (runs done, rate,
time elapsed and left); elsewhere, or with the bar turned off, a line per finished group
of runs on stderr (a log file, CI)."""

from __future__ import annotations

import sys
import warnings
from typing import Any, TextIO

# The time left is extrapolated from the mean rate since the start (tqdm's smoothing=0),
# not from the latest runs: each group of runs compiles its programs first, so the mean
# over the groups finished so far prices compiling in, where a recent rate would not.
BAR_FORMAT = "{desc}{percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} runs [{elapsed} elapsed, {remaining} left]"


class Progress:
    """Counts finished runs; draws the bar only when asked to and there is somewhere to
    draw it (a terminal, a notebook), and otherwise says each group's end in a line."""

    def __init__(self, total: int, stream: TextIO | None = None, show: bool = True):
        stream = stream or sys.stderr  # the stream of now, not of the import (a notebook or a test may swap it)
        self.total, self.done, self.stream = total, 0, stream
        self.bar: Any = None
        if show and total > 0 and (_is_terminal(stream) or in_notebook()):
            self.bar = _bar(total, stream)

    @property
    def enabled(self) -> bool:
        return self.bar is not None

    def update(self, n: int) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)

    def group_done(self, problem: str, optimizer: str, statuses: list[str]) -> None:
        """All runs of one problem and configuration are stored: a line, where no bar is drawn."""
        if self.enabled:
            return
        counts = ", ".join(f"{statuses.count(s)} {s}" for s in dict.fromkeys(statuses))
        self.stream.write(f"[{self.done}/{self.total}] {problem} {optimizer}: {counts}\n")
        self.stream.flush()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def in_notebook() -> bool:
    """Whether this is a Jupyter kernel, where tqdm draws its bar as a widget."""
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def _is_terminal(stream: TextIO) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)())


def _bar(total: int, stream: TextIO) -> Any:
    options = dict(total=total, file=stream, smoothing=0, bar_format=BAR_FORMAT, dynamic_ncols=True, leave=True)
    if in_notebook():
        try:  # a widget, where ipywidgets is installed
            from tqdm.notebook import tqdm as notebook_bar

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return notebook_bar(**{k: v for k, v in options.items() if k not in ("file", "dynamic_ncols")})
        except ImportError:
            pass  # without ipywidgets: the text bar, which a notebook shows as well
    from tqdm import tqdm

    return tqdm(**options)
