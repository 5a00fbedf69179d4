"""Log-axis tick labels as plain text (10⁻³, 2×10⁻³) instead of matplotlib's mathtext.

The ticks and their values are matplotlib's own; only the typesetting differs. Laying
out mathtext labels was about a fifth of the time the report took to draw (1.6 s of
7.5 s for the default suite). Imported by the figure functions, never at ``optbench``'s
import: it imports matplotlib.
"""

from __future__ import annotations

import re
from typing import Any

from matplotlib.ticker import Formatter

_SUPERSCRIPTS = str.maketrans("-−0123456789.", "⁻⁻⁰¹²³⁴⁵⁶⁷⁸⁹·")


def plain_powers(fig: Any) -> Any:
    """Give every log or symlog axis of ``fig`` plain-text labels; call it after the
    scales are set. Returns ``fig``."""
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            if axis.get_scale() in ("log", "symlog"):
                axis.set_major_formatter(PlainPowers(axis.get_major_formatter()))
                axis.set_minor_formatter(PlainPowers(axis.get_minor_formatter()))
    return fig


def plain(label: str) -> str:
    """``$\\mathdefault{2\\times10^{-3}}$`` as ``2×10⁻³``; other labels unchanged."""
    if not label.startswith("$"):
        return label
    body = label.strip("$").replace(r"\mathdefault", "").replace(r"\times", "×").replace(r"\minus", "−")
    body = re.sub(r"\^\{?([^{}]*)\}?", lambda m: m.group(1).translate(_SUPERSCRIPTS), body)
    return body.replace("{", "").replace("}", "")


class PlainPowers(Formatter):
    """An axis's own formatter (which ticks get a label, and what it says), its mathtext
    turned into plain text."""

    def __init__(self, inner: Formatter) -> None:
        self.inner = inner

    def set_axis(self, axis: Any) -> None:
        super().set_axis(axis)
        self.inner.set_axis(axis)

    def set_locs(self, locs: Any) -> None:
        super().set_locs(locs)
        self.inner.set_locs(locs)

    def __call__(self, x: float, pos: Any = None) -> str:
        return plain(self.inner(x, pos))
