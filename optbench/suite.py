"""Suites: problems x optimizers (with grids) x seeds x budget, written in TOML."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from optbench.budget import MAX_RUNS, MAX_SEED, Budget
from optbench.errors import OptbenchError, UnknownNameError, shown
from optbench.registry import builtin_problems_dir, did_you_mean

_KEYS = {"description", "problems", "optimizers", "seeds", "budget", "tuning"}
_TUNING_KEYS = {"trials", "studies", "seeds", "space"}


@dataclass(frozen=True)
class Suite:
    """A named comparison, as read from a suite file."""

    name: str
    description: str
    problems: list[str]
    optimizers: list[str]
    seeds: int | list[int]
    budget: Budget
    path: Path
    # ``optbench tune``'s settings: trials, studies and seeds (each a count), and ``space``:
    # optimizer -> hyperparameter -> (low, high, scale or None), replacing declared ranges.
    tuning: dict[str, Any] = field(default_factory=dict)


def suite_dirs(plugin_dirs: list[str] | tuple[str, ...] = ()) -> list[Path]:
    """Where suite files are looked for: the built-in suites, then ``suites/`` in each plugin dir."""
    return [builtin_problems_dir() / "suites", *(Path(d) / "suites" for d in plugin_dirs)]


def list_suites(plugin_dirs: list[str] | tuple[str, ...] = ()) -> list[Suite]:
    return [load_suite(path) for d in suite_dirs(plugin_dirs) if d.is_dir() for path in sorted(d.glob("*.toml"))]


def find_suite(name: str, plugin_dirs: list[str] | tuple[str, ...] = ()) -> Path:
    """The file a suite name (or a path to a ``.toml`` file) refers to."""
    if name.endswith(".toml") or "/" in name:
        path = Path(name)
        if not path.is_file():
            raise OptbenchError(f"suite file {name!r} does not exist")
        return path
    known = {}
    for directory in suite_dirs(plugin_dirs):
        for path in sorted(directory.glob("*.toml")) if directory.is_dir() else []:
            known.setdefault(path.stem, path)
    if name not in known:
        hint = did_you_mean(name, known)
        raise UnknownNameError(f"unknown suite {shown(name)}{hint}; `optbench list suites` shows them")
    return known[name]


def load_suite(path: str | Path) -> Suite:
    """Read and check a suite file; every mistake is reported with the file's name."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as err:
        raise OptbenchError(f"cannot read suite file {str(path)!r}: {err}") from None
    except tomllib.TOMLDecodeError as err:
        raise OptbenchError(f"suite file {str(path)!r} is not valid TOML: {err}") from None
    except RecursionError:
        raise OptbenchError(f"suite file {str(path)!r} nests arrays or tables too deeply to read") from None
    where = f"suite file {str(path)!r}"
    unknown = set(data) - _KEYS
    if unknown:
        raise OptbenchError(
            f"{where}: unknown key(s) {', '.join(sorted(unknown))} (allowed: {', '.join(sorted(_KEYS))})"
        )
    budget = data.get("budget", {})
    if not isinstance(budget, dict):
        raise OptbenchError(f"{where}: [budget] must be a table")
    try:
        parsed_budget = Budget.from_dict(budget)
    except OptbenchError as err:
        raise OptbenchError(f"{where}: {err}") from None
    return Suite(
        name=path.stem,
        description=str(data.get("description", "")),
        problems=_names(data, "problems", where),
        optimizers=_names(data, "optimizers", where),
        seeds=_seeds(data.get("seeds", 1), where),
        budget=parsed_budget,
        path=path,
        tuning=_tuning(data.get("tuning", {}), where),
    )


def _tuning(table: Any, where: str) -> dict[str, Any]:
    """The [tuning] table: counts, and [tuning.space.OPTIMIZER] ranges ``name = [low, high]``
    or ``[low, high, "scale"]``; checked here, the ranges' values when they are drawn."""
    if not isinstance(table, dict):
        raise OptbenchError(f"{where}: [tuning] must be a table")
    unknown = set(table) - _TUNING_KEYS
    if unknown:
        raise OptbenchError(
            f"{where}: unknown key(s) in [tuning]: {', '.join(sorted(unknown))} "
            f"(allowed: {', '.join(sorted(_TUNING_KEYS))})"
        )
    out: dict[str, Any] = {}
    for key in ("trials", "studies", "seeds"):
        if key in table:
            value = table[key]
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_RUNS:
                raise OptbenchError(
                    f"{where}: [tuning] {key} must be a whole number from 1 to {MAX_RUNS:,}, got {value!r}"
                )
            out[key] = value
    space = table.get("space", {})
    if not isinstance(space, dict) or not all(isinstance(v, dict) for v in space.values()):
        raise OptbenchError(f"{where}: [tuning.space] holds a table per optimizer: [tuning.space.adam]")
    out["space"] = {}
    for optimizer, ranges in space.items():
        for name, value in ranges.items():
            numbers = value[:2] if isinstance(value, list) else []
            scale = value[2] if isinstance(value, list) and len(value) == 3 else None
            if (
                not isinstance(value, list)
                or len(value) not in (2, 3)
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in numbers)
                or (len(value) == 3 and not isinstance(scale, str))
            ):
                raise OptbenchError(
                    f"{where}: [tuning.space.{optimizer}] {name} must be [low, high] or "
                    f'[low, high, "scale"], got {value!r}'
                )
            out["space"].setdefault(optimizer, {})[name] = (float(numbers[0]), float(numbers[1]), scale)
    return out


def _names(data: dict[str, Any], key: str, where: str) -> list[str]:
    value = data.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise OptbenchError(f"{where}: {key} must be a non-empty list of spec strings")
    return value


def _seeds(value: Any, where: str) -> int | list[int]:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_RUNS:
        return value
    if (
        isinstance(value, list)
        and value
        and all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= MAX_SEED for v in value)
    ):
        return value
    shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:60] + "..."
    raise OptbenchError(
        f"{where}: seeds must be a number of seeds (1 to {MAX_RUNS:,}) or a list of seeds (0 to {MAX_SEED:,}), "
        f"got {shown}"
    )
