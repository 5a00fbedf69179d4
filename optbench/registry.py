"""Named factories for problems and optimizers, their lookup, and plugin loading.

A factory's keyword arguments are the parameters a spec string may set:
``quadratic[n=500,noise=0.2]`` calls ``quadratic(n=500, noise=0.2)``.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import importlib.util
import inspect
import pkgutil
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from optbench.errors import OptbenchError, PluginError, SpecError, UnknownNameError, shown
from optbench.spec import Grid, Spec, format_spec, parse_spec


@dataclass(frozen=True)
class Entry:
    """A registered factory and what is declared about it."""

    kind: str
    name: str
    factory: Callable[..., Any]
    requires: frozenset[str] = frozenset()
    family: str = ""
    tags: frozenset[str] = frozenset()
    source: str = ""
    max_params: int | None = None  # an optimizer that keeps n x n (or n-point) state
    keeps_bounds: bool = False  # an optimizer whose points stay in a problem's bounds
    float64_only: bool = False  # an optimizer that cannot run on a float32 problem (its docstring says why)
    # A numeric parameter's allowed (low, high), None for no bound; checked when a spec is read.
    limits: Mapping[str, tuple[float | None, float | None]] = field(default_factory=dict, hash=False, compare=False)
    # What ``optbench tune`` searches: a numeric hyperparameter -> its ``optbench.tuning.space.Range``.
    space: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def description(self) -> str:
        """The docstring's first sentence (which may wrap over lines), for one-line listings."""
        doc = inspect.getdoc(self.factory) or ""
        paragraph = " ".join(doc.split("\n\n")[0].split())
        return re.split(r"(?<=[.!?])\s+(?=[A-Z(])", paragraph, maxsplit=1)[0]

    @property
    def defaults(self) -> dict[str, Any]:
        """The factory's keyword parameters and their default values."""
        out = {}
        for p in inspect.signature(self.factory).parameters.values():
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                continue
            if p.default is p.empty:
                raise OptbenchError(f"{self.kind} {self.name!r}: parameter {p.name!r} needs a default")
            out[p.name] = p.default
        return out

    def resolve(self, params: dict[str, Any]) -> dict[str, Any]:
        """All parameters with defaults filled in, checked for name and type."""
        defaults = self.defaults
        resolved = dict(defaults)
        for key, value in params.items():
            if key not in defaults:
                hint = did_you_mean(key, defaults)
                known = ", ".join(defaults) or "none"
                raise SpecError(f"{self.kind} {self.name!r} has no parameter {key!r}{hint} (parameters: {known})")
            resolved[key] = _coerce(self.kind, self.name, key, value, defaults[key])
            if key in self.limits:
                _check_limits(self.kind, self.name, key, resolved[key], self.limits[key])
        return resolved


def plugin_files(directory: Path) -> list[Path]:
    """The plugin files of a folder: its ``*.py`` files, but not those named ``_*``."""
    return [p for p in sorted(directory.glob("*.py")) if not p.name.startswith("_")]


def plugin_digest(directory: str | Path) -> str:
    """The SHA-256 of a plugin folder's files (names and contents): what a database
    remembers, to tell a reader that the code which made its runs has changed since."""
    digest = hashlib.sha256()
    for path in plugin_files(Path(directory)):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


class Registry:
    """Problems and optimizers by name; built-ins and plugin files load on first use."""

    def __init__(self) -> None:
        self.entries: dict[str, dict[str, Entry]] = {"problem": {}, "optimizer": {}}
        self._builtins_loaded = False
        self._loading_source = ""
        self._plugin_paths: set[Path] = set()
        self._problem_cache: dict[str, Any] = {}
        # Names of problems whose optional package is not installed: a prefix and what to install.
        self.missing: dict[str, str] = {}

    def add(self, entry: Entry) -> None:
        """Register ``entry``. A name registered twice is an error, except where an
        interactive session (a notebook cell run again) defines the same factory anew:
        the new definition replaces the old, and problems built from the old are dropped."""
        table = self.entries[entry.kind]
        if entry.name in table:
            old = table[entry.name]
            if not _redefined_interactively(old.factory, entry.factory):
                first = old.source or "optbench"
                raise PluginError(f"{entry.kind} {entry.name!r} is registered twice (first by {first})")
            if entry.kind == "problem":
                stale = [spec for spec in self._problem_cache if parse_spec(spec).name == entry.name]
                for spec in stale:
                    del self._problem_cache[spec]
        table[entry.name] = entry

    def names(self, kind: str) -> list[str]:
        self.load_builtins()
        return sorted(self.entries[kind], key=natural_key)

    def get(self, kind: str, name: str) -> Entry:
        self.load_builtins()
        table = self.entries[kind]
        if name not in table:
            for prefix, why in self.missing.items() if kind == "problem" else ():
                if name.startswith(prefix):
                    raise OptbenchError(f"problem {shown(name)} {why}")
            hint = did_you_mean(name, table)
            raise UnknownNameError(f"unknown {kind} {shown(name)}{hint}; `optbench list {kind}s` shows them all")
        return table[name]

    def load_builtins(self) -> None:
        if self._builtins_loaded:
            return
        self._builtins_loaded = True
        # Every module of optbench/optimizers registers its family, found as problem files are.
        import optbench.optimizers

        for module in pkgutil.iter_modules(optbench.optimizers.__path__, "optbench.optimizers."):
            importlib.import_module(module.name)
        self.load_plugins([builtin_problems_dir()], source="optbench")

    def load_plugins(self, dirs: Iterable[str | Path], source: str = "") -> None:
        """Import every ``*.py`` file in each directory; its decorators register what it defines.

        The built-ins load first, so a plugin that reuses a built-in name is the one blamed.
        A file that fails to import registers nothing: what it registered before failing
        is taken back, and a later call tries it again."""
        dirs = list(dirs)
        if source != "optbench":
            self.load_builtins()
        for directory in map(Path, dirs):
            if not directory.is_dir():
                raise PluginError(f"plugin directory {str(directory)!r} does not exist")
            files = plugin_files(directory)
            if not files:
                raise PluginError(f"plugin directory {str(directory)!r} holds no plugin files (*.py)")
            for path in files:
                self._import_plugin(path.resolve(), source or str(path))

    def knows(self, kind: str, name: str) -> bool:
        """Whether ``name`` is a registered problem or optimizer (``kind``), built-ins loaded."""
        self.load_builtins()
        return name in self.entries[kind]

    def _import_plugin(self, path: Path, source: str) -> None:
        if path in self._plugin_paths:
            return
        self._plugin_paths.add(path)
        digest = hashlib.sha1(str(path).encode()).hexdigest()[:8]
        module_name = f"optbench_plugin_{path.stem}_{digest}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        previous, self._loading_source = self._loading_source, source
        before = {kind: dict(table) for kind, table in self.entries.items()}
        try:
            spec.loader.exec_module(module)
        except BaseException as err:
            sys.modules.pop(module_name, None)
            self._plugin_paths.discard(path)
            self.entries = before
            if isinstance(err, KeyboardInterrupt):
                raise
            raise PluginError(f"plugin {path}{_what_went_wrong(err)}") from None
        finally:
            self._loading_source = previous

    def problem(self, spec: str | Spec) -> Any:
        """Build (once per canonical spec) the problem a spec names."""
        from optbench.problem import Problem

        parsed = parse_spec(spec) if isinstance(spec, str) else spec
        entry = self.get("problem", parsed.name)
        _reject_grids(parsed)
        params = entry.resolve(parsed.params)
        canonical = format_spec(entry.name, _non_default(params, entry.defaults))
        if canonical not in self._problem_cache:
            try:
                problem = entry.factory(**params)
            except OptbenchError:
                raise
            except Exception as err:  # a factory that rejects its arguments: one clear line
                raise SpecError(f"problem {canonical!r}: {err}") from err
            if not isinstance(problem, Problem):
                raise OptbenchError(f"problem factory {entry.name!r} returned {type(problem).__name__}, not a Problem")
            self._problem_cache[canonical] = problem.with_spec(canonical, entry.tags)
        return self._problem_cache[canonical]


REGISTRY = Registry()


def _redefined_interactively(old: Callable[..., Any], new: Callable[..., Any]) -> bool:
    """Both factories are the same name defined at a session's top level (``__main__``)."""
    same_name = getattr(old, "__qualname__", None) == getattr(new, "__qualname__", None)
    return same_name and getattr(old, "__module__", "") == getattr(new, "__module__", "") == "__main__"


def builtin_problems_dir() -> Path:
    """The folder of built-in problems: inside the installed package, or beside it in a checkout."""
    here = Path(__file__).resolve().parent
    installed = here / "problems"
    return installed if installed.is_dir() else here.parent / "problems"


def register_problem(
    name: str, *, tags: Iterable[str] = (), limits: Mapping[str, tuple[float | None, float | None]] | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a factory that returns a ``Problem``; its keyword arguments become spec parameters.
    ``limits`` maps a numeric parameter to its ``(low, high)`` range (None: unbounded), checked
    when a spec is read, before anything is built: ``{"n": (2, 1_000_000)}``."""

    def decorate(factory: Callable[..., Any]) -> Callable[..., Any]:
        source = REGISTRY._loading_source
        REGISTRY.add(Entry("problem", name, factory, tags=frozenset(tags), source=source, limits=dict(limits or {})))
        return factory

    return decorate


def register_missing(prefix: str, why: str) -> None:
    """Problems named ``prefix...`` exist where an optional package is installed; here it is
    not, so asking for one says ``why`` (the package and how to install it) instead of
    "unknown problem", and ``optbench list problems`` leaves them out."""
    REGISTRY.missing[prefix] = why


def register_optimizer(
    name: str,
    *,
    requires: Iterable[str] = ("grad",),
    family: str | None = None,
    max_params: int | None = None,
    limits: Mapping[str, tuple[float | None, float | None]] | None = None,
    keeps_bounds: bool = False,
    space: Mapping[str, Any] | None = None,
    float64_only: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register an optimizer factory: it returns an optax ``GradientTransformation``, a
    ``FirstOrder`` or another solver, built from its keyword arguments (the hyperparameters).
    ``requires`` names the problem capabilities it needs; ``max_params`` is the largest
    problem it is run on (methods with dense n x n state); larger ones are skipped.
    ``keeps_bounds`` says its points stay in a problem's ``bounds``; a run of a method that
    does not and ends outside them is never a success (``in_bounds`` is false).
    ``float64_only``: it skips float32 problems, with the reason.
    ``limits`` maps a numeric hyperparameter to its ``(low, high)`` range, checked when a
    spec is read; a factory may also raise ``SpecError`` for values it rejects, which
    ``plan`` reports before any run. ``space`` maps float hyperparameters (and int ones,
    with ``integer=True``) to the ranges ``optbench tune`` searches
    (``optbench.tuning.space.Range``); without one, tuning runs
    the defaults and says there is nothing to tune.

    Float hyperparameters are passed to the factory as traced values, so a grid over them
    compiles once; the factory must use them only as numbers (no Python ``if`` on them).
    """

    def decorate(factory: Callable[..., Any]) -> Callable[..., Any]:
        fam = family or factory.__module__.rsplit(".", 1)[-1].removeprefix("optbench_plugin_")
        entry = Entry(
            "optimizer",
            name,
            factory,
            frozenset(requires),
            fam,
            source=REGISTRY._loading_source,
            max_params=max_params,
            keeps_bounds=keeps_bounds,
            float64_only=float64_only,
            limits=dict(limits or {}),
            space=_checked_space(name, factory, space or {}),
        )
        REGISTRY.add(entry)
        return factory

    return decorate


def _checked_space(name: str, factory: Callable[..., Any], space: Mapping[str, Any]) -> dict[str, Any]:
    """A declared search space: each range for a float hyperparameter of the factory, or an
    integer range (``Range(..., integer=True)``) for an int one."""
    defaults = {p.name: p.default for p in inspect.signature(factory).parameters.values()}
    for key, value in space.items():
        if not all(hasattr(value, attr) for attr in ("low", "high", "value", "integer")):
            raise PluginError(f"optimizer {name!r}: the search range of {key!r} is not an optbench.tuning.space.Range")
        default = defaults.get(key)
        whole = isinstance(default, int) and not isinstance(default, bool)
        if not (isinstance(default, float) and not value.integer) and not (whole and value.integer):
            raise PluginError(
                f"optimizer {name!r}: its search space names {key!r}, which is not a float hyperparameter "
                "(or an int one, with an integer range)"
            )
    return dict(space)


def _what_went_wrong(err: BaseException) -> str:
    """How a plugin file failed, as the end of a sentence that starts with its path."""
    if isinstance(err, SystemExit):
        # sys.exit() at import, or an argparse parser run at import that rejected optbench's arguments.
        return (
            f" called sys.exit({err.code!r}) while being imported (a script's main code, or argparse, "
            'run at import?); put it under `if __name__ == "__main__":`'
        )
    if isinstance(err, OptbenchError):
        return f": {err}"
    return f" failed to import: {type(err).__name__}: {err}"  # a user's file may raise anything


def natural_key(name: str) -> tuple:
    """A sort key that orders the numbers in a name by value: ``bbob_f2`` before
    ``bbob_f15``, ``nist_gauss1[start=2]`` after ``nist_gauss1[start=1]``."""
    parts = re.split(r"(\d+)", name)
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts))


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """A hint naming the closest choice: by spelling, else by abbreviation (``lr``); none
    for a name over 200 characters (difflib's matching grows with its square)."""
    if len(name) > 200:
        return ""
    options = list(choices)
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.5)
    close = close or [c for c in options if name and c.startswith(name[0]) and _is_subsequence(name, c)][:1]
    return f" (did you mean {close[0]!r}?)" if close else ""


def _is_subsequence(short: str, long: str) -> bool:
    letters = iter(long)
    return all(char in letters for char in short)


def _reject_grids(spec: Spec) -> None:
    for key, value in spec.params.items():
        if isinstance(value, Grid):
            raise SpecError(f"{spec.name}: a list for {key!r} is a grid; expand the spec before building it")


def _non_default(params: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v for k, v in params.items() if k not in defaults or defaults[k] != v or type(defaults[k]) is not type(v)
    }


def _check_limits(kind: str, name: str, key: str, value: Any, limits: tuple[float | None, float | None]) -> None:
    low, high = limits
    for v in value.values if isinstance(value, Grid) else (value,):
        number = isinstance(v, (int, float)) and not isinstance(v, bool)
        if number and (low is None or v >= low) and (high is None or v <= high):
            continue
        if low is not None and high is not None:
            allowed = f"from {low:,} to {high:,}"
        else:
            allowed = f"at least {low:,}" if low is not None else f"at most {high:,}"
        raise SpecError(f"{kind} {name!r}: parameter {key!r} must be {allowed}, got {v!r}")


def _coerce(kind: str, name: str, key: str, value: Any, default: Any) -> Any:
    """Check a value against the type of the parameter's default; ints widen to floats."""
    where = f"{kind} {name!r}: parameter {key!r}"
    if isinstance(value, Grid):
        return Grid(tuple(_coerce(kind, name, key, v, default) for v in value.values))
    if default is None:
        return value
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        raise SpecError(f"{where} must be true or false, got {value!r}")
    if isinstance(default, float) and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(default, int) and isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(default, str) and isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # a word that happens to be a number: mlp[hidden=16]
    if isinstance(default, str) and isinstance(value, str):
        return value
    if isinstance(default, tuple) and isinstance(value, (int, str)):
        return (value,)
    raise SpecError(f"{where} must be {type(default).__name__}, got {value!r}")
