"""Tables as text: every column as CSV or LaTeX; in a terminal, the key columns, rounded
for reading, as many as fit the width (most important first)."""

from __future__ import annotations

import math
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import pandas as pd

from optbench.errors import OptbenchError

FORMATS = ("markdown", "csv", "latex")
DEFAULT_WIDTH = 120


@dataclass(frozen=True)
class Column:
    """A terminal column: its header, and its cell from a row of the table (a dict);
    shown only when the table has every column in ``needs``."""

    header: str
    cell: Callable[[dict[str, Any]], str]
    needs: tuple[str, ...]


def number(value: Any, digits: int = 4) -> str:
    """A number rounded for reading; blank for NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, Integral):
        return str(value)
    if isinstance(value, Real):
        value = float(value)
        return ("inf" if value > 0 else "-inf") if math.isinf(value) else f"{value:.{digits}g}"
    return str(value)


def count(value: Any) -> str:
    """A count (or a median of counts) with thousands separators."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "" if value is None or math.isnan(value) else "inf"
    return f"{value:,.0f}" if float(value).is_integer() or abs(value) >= 100 else f"{value:.1f}"


def seconds(value: Any) -> str:
    """A duration: milliseconds below one second."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value * 1e3:.3g}ms" if value < 1 else f"{value:.3g}s"


def col(name: str, header: str, fmt: Callable[[Any], str] = number) -> Column:
    """A terminal column showing one table column through ``fmt``."""
    return Column(header, lambda row: fmt(row[name]), (name,))


def format_table(
    table: pd.DataFrame, fmt: str = "markdown", columns: Sequence[Column] | None = None, width: int | None = None
) -> str:
    """The table as CSV or a LaTeX tabular (every column), or as a markdown table for a
    terminal: the ``columns`` (default: every column) that fit in ``width`` characters
    (default: ``$COLUMNS``, else the terminal's width, else 120), dropped from the last,
    with a line after the table naming those left out."""
    if fmt not in FORMATS:
        raise OptbenchError(f"unknown table format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "csv":
        return table.to_csv(index=False)
    if fmt == "latex":
        return _latex(list(table.columns), [[number(v) for v in row] for row in table.itertuples(index=False)])
    if columns is None:
        columns = [col(c, c) for c in table.columns]
    shown = [c for c in columns if all(n in table for n in c.needs)]
    records = table.to_dict("records")
    cells = [[c.cell(r) for r in records] for c in shown]
    limit = width or terminal_width()
    widths = [
        max(len(c.header), *(len(v) for v in values)) if values else len(c.header) for c, values in zip(shown, cells)
    ]
    left_out = []
    while len(shown) > 2 and sum(w + 3 for w in widths) + 1 > limit:
        left_out.insert(0, shown[-1].header)
        shown, cells, widths = shown[:-1], cells[:-1], widths[:-1]
    line = lambda row: "| " + " | ".join(v.ljust(w) for v, w in zip(row, widths)) + " |"
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    rows = [line([values[i] for values in cells]) for i in range(len(records))]
    text = "\n".join([line([c.header for c in shown]), rule, *rows]) + "\n"
    if left_out:
        import textwrap

        note = f"(left out to fit {limit} characters: {', '.join(left_out)}; a wider COLUMNS, or --format csv, "
        text += textwrap.fill(note + "shows every column)", max(limit, 40)) + "\n"
    return text


def terminal_width() -> int:
    """The width tables are fitted to: ``$COLUMNS`` where set, else the terminal's, else 120."""
    given = os.environ.get("COLUMNS", "")
    if given.isdigit() and int(given) > 0:
        return int(given)
    return shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns if sys.stdout.isatty() else DEFAULT_WIDTH


def _latex(header: list[str], cells: list[list[str]]) -> str:
    escape = lambda s: s.replace("\\", "\\textbackslash{}").replace("_", "\\_").replace("&", "\\&").replace("%", "\\%")
    lines = [
        "\\begin{tabular}{" + "l" * 2 + "r" * (len(header) - 2) + "}",
        "\\hline",
        " & ".join(map(escape, header)) + " \\\\",
        "\\hline",
        *(" & ".join(map(escape, row)) + " \\\\" for row in cells),
        "\\hline",
        "\\end{tabular}",
    ]
    return "\n".join(lines) + "\n"
