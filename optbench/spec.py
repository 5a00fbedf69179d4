"""Spec strings: ``name[param=value,...]``, their parsing, grids and canonical form.

A value is a number, ``true``/``false``, a bare or quoted string, a list ``[a,b,...]``
(a grid: one run per element) or ``logspace(start,stop,num)`` / ``linspace(start,stop,num)``.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from dataclasses import dataclass
from typing import Any

from optbench.errors import SpecError

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-.]*")
_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")  # ASCII digits only
_BARE = re.compile(r"[A-Za-z_][A-Za-z0-9_\-.]*")
_WORD = re.compile(r"[A-Za-z0-9_\-.]+")  # a word that starts like a number: 64x32
MAX_GRID = 10_000  # points of one grid, and configurations of one spec
_INT_LIMIT = 2**63  # a whole number must fit in 64 bits


@dataclass(frozen=True)
class Grid:
    """A list of values for one parameter; expands into one configuration per value."""

    values: tuple[Any, ...]


@dataclass(frozen=True)
class Spec:
    """A parsed spec: a registered name and the parameters given for it."""

    name: str
    params: dict[str, Any]

    def expand(self) -> list[Spec]:
        """One spec per point of the Cartesian product of the grids in ``params``."""
        keys = list(self.params)
        axes = [v.values if isinstance(v, Grid) else (v,) for v in self.params.values()]
        size = math.prod(len(axis) for axis in axes)
        if size > MAX_GRID:
            raise SpecError(f"{self.name}: its grids make {size:,} configurations, more than the limit of {MAX_GRID:,}")
        return [Spec(self.name, dict(zip(keys, combo))) for combo in itertools.product(*axes)]


def format_spec(name: str, params: dict[str, Any]) -> str:
    """The canonical spec string: parameters sorted by name, values in their shortest form."""
    if not params:
        return name
    inner = ",".join(f"{k}={_format_value(params[k])}" for k in sorted(params))
    return f"{name}[{inner}]"


def file_name(spec: str) -> str:
    """A spec as a safe file or folder name: ``quadratic[n=50]`` -> ``quadratic_n_50``."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in spec).strip("_")


def _format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_format_value(v) for v in value) + "]"
    if isinstance(value, str) and not _BARE.fullmatch(value):
        return json.dumps(value)
    return str(value)


def parse_spec(text: str) -> Spec:
    """Parse ``name[param=value,...]``; raise SpecError saying where it went wrong."""
    if not isinstance(text, str):
        raise SpecError(f"a spec is a string such as 'adam[learning_rate=0.1]', got {type(text).__name__}")
    if not text.strip():
        raise SpecError(f"the spec {text!r} is empty; give a name such as 'adam' or 'adam[learning_rate=0.1]'")
    return _Parser(text).spec()


class _Parser:
    def __init__(self, text: str):
        self.text = text.strip()
        self.pos = 0

    def fail(self, what: str) -> SpecError:
        # A long spec is shown as the 60 characters before the error and 20 after it.
        # Characters a terminal would not show as one (a newline, a tab) are shown escaped.
        start = max(0, self.pos - 60)
        before, after = _visible(self.text[start : self.pos]), _visible(self.text[self.pos : self.pos + 20])
        shown = ("..." if start else "") + before + after + ("..." * (len(self.text) > self.pos + 20))
        pointer = f"{shown}\n{' ' * (len(before) + 3 * bool(start))}^"
        return SpecError(f"malformed spec '{shown}': {what} at position {self.pos}\n{pointer}")

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip_space(self) -> None:
        while self.peek().isspace():
            self.pos += 1

    def expect(self, char: str) -> None:
        self.skip_space()
        if self.peek() != char:
            found = repr(self.peek()) if self.peek() else "end of text"
            raise self.fail(f"expected {char!r}, found {found}")
        self.pos += 1

    def match(self, pattern: re.Pattern[str]) -> str | None:
        self.skip_space()
        m = pattern.match(self.text, self.pos)
        if not m:
            return None
        self.pos = m.end()
        return m.group(0)

    def spec(self) -> Spec:
        name = self.match(_NAME)
        if name is None:
            raise self.fail("expected a name")
        params: dict[str, Any] = {}
        self.skip_space()
        if self.peek() == "[":
            self.pos += 1
            params = self.params()
        self.skip_space()
        if self.pos != len(self.text):
            raise self.fail("unexpected text after the spec")
        return Spec(name, params)

    def params(self) -> dict[str, Any]:
        params: dict[str, Any] = {}
        self.skip_space()
        if self.peek() == "]":
            self.pos += 1
            return params
        while True:
            key = self.match(_NAME)
            if key is None:
                raise self.fail("expected a parameter name")
            if key in params:
                raise self.fail(f"parameter {key!r} given twice")
            self.expect("=")
            params[key] = self.value(top=True)
            self.skip_space()
            if self.peek() == ",":
                self.pos += 1
                continue
            self.expect("]")
            return params

    def value(self, top: bool = False) -> Any:
        self.skip_space()
        char = self.peek()
        if char == "[":
            if not top:
                raise self.fail("nested lists are not allowed")
            self.pos += 1
            return Grid(tuple(self.items()))
        if char in "\"'":
            return self.quoted(char)
        number = self.match(_NUMBER)
        if number is not None:
            if not re.match(r"[A-Za-z_]", self.peek()):
                return self.number(number)
            self.pos -= len(number)
            return self.match(_WORD)
        word = self.match(_BARE)
        if word is None:
            raise self.fail("expected a value")
        if word in ("logspace", "linspace"):
            if not top:
                raise self.fail(f"{word}(...) cannot be nested")
            return self.space(word)
        return {"true": True, "false": False, "inf": math.inf, "nan": math.nan}.get(word.lower(), word)

    def items(self) -> list[Any]:
        values = []
        while True:
            values.append(self.value())
            self.skip_space()
            if self.peek() == ",":
                self.pos += 1
                continue
            self.expect("]")
            if not values:
                raise self.fail("empty list")
            return values

    def quoted(self, quote: str) -> str:
        end = self.text.find(quote, self.pos + 1)
        if end < 0:
            raise self.fail("unterminated string")
        value = self.text[self.pos + 1 : end]
        self.pos = end + 1
        return value

    def space(self, kind: str) -> Grid:
        self.expect("(")
        args = []
        for i in range(3):
            number = self.match(_NUMBER)
            self.skip_space()
            if number is None or self.peek() != (")" if i == 2 else ","):
                raise self.fail(f"{kind} takes three numbers: start, stop, num")
            args.append(self.number(number))
            self.pos += 1
        start, stop, num = args
        if not isinstance(num, int) or not 1 <= num <= MAX_GRID:
            raise self.fail(f"{kind} needs a whole number of points from 1 to {MAX_GRID:,}, got {num}")
        try:
            return Grid(tuple(_space(kind, float(start), float(stop), num)))
        except OverflowError:
            raise self.fail(f"{kind}({start},{stop},{num}) overflows a float") from None

    def number(self, text: str) -> int | float:
        try:
            value = _number(text)
        except ValueError:  # Python refuses to convert more than 4,300 digits
            raise self.fail(f"the number {text[:20]}... has too many digits") from None
        if isinstance(value, int) and not -_INT_LIMIT <= value < _INT_LIMIT:
            raise self.fail(f"the whole number {text[:20]}{'...' * (len(text) > 20)} does not fit in 64 bits")
        return value


def _space(kind: str, start: float, stop: float, num: int) -> list[float]:
    points = [start + (stop - start) * i / max(num - 1, 1) for i in range(num)]
    if kind == "logspace":
        points = [10.0**p for p in points]
    points = [float(f"{p:.12g}") for p in points]
    if not all(math.isfinite(p) for p in points):
        raise OverflowError
    return points


def _number(text: str) -> int | float:
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    return float(text)


def _visible(text: str) -> str:
    """``text`` with each character that does not print as itself escaped, as ``repr`` does."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
