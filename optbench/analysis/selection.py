"""Which stored runs a view uses, and which of them are comparable.

Filters match a spec to its canonical form, defaults included: ``adam[learning_rate=0.01]``
matches the runs of ``adam`` at its default learning rate. Runs pool into one row or one
curve only when they share the problem spec, the optimizer configuration and the budget
(and, on request, provenance such as the device): their ``config`` says which.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import pandas as pd

from optbench.errors import OptbenchError
from optbench.registry import REGISTRY
from optbench.spec import Grid, format_spec, parse_spec

_BUDGET_WORDS = {
    "max_steps": "{} steps",
    "max_evals": "{} evals",
    "max_evals_per_dim": "{} x n evals",
    "max_time": "{} s",
    "max_epochs": "{} epochs",
    "target": "target {}",
}


def filter_runs(
    runs: pd.DataFrame,
    problems: Iterable[str] = (),
    optimizers: Iterable[str] = (),
    suites: Iterable[str] = (),
) -> pd.DataFrame:
    """The runs matching every kind of filter given (any of its values).

    A bare name matches every configuration of it; a spec with parameters matches the
    configurations with those values, whether they were given or are the defaults."""
    keep = pd.Series(True, index=runs.index)
    problems, optimizers, suites = list(problems), list(optimizers), list(suites)
    if problems:
        keep &= _any_match(problems, runs["problem_name"], _problem_params(runs), "problem")
    if optimizers:
        stored = [json.loads(p) for p in runs["params"]]
        keep &= _any_match(optimizers, runs["optimizer_name"], stored, "optimizer")
    if suites:
        keep &= runs["suite"].isin(suites)
    return runs[keep]


def exact_problem(runs: pd.DataFrame, problems: Iterable[str]) -> str | None:
    """The stored problem spec that one of the ``problems`` filters names exactly (its
    canonical form, defaults dropped), if exactly one does."""
    stored = set(runs["problem"])
    named = set()
    for text in problems:
        spec = parse_spec(text)
        if any(isinstance(v, Grid) for v in spec.params.values()):
            continue  # a grid names several problems
        defaults = _defaults("problem", spec.name)
        canonical = format_spec(spec.name, {k: v for k, v in spec.params.items() if defaults.get(k, _MISSING) != v})
        named |= {canonical} & stored
    return named.pop() if len(named) == 1 else None


def budget_label(budget_json: str) -> str:
    """A budget in words: ``{"max_steps": 500}`` -> ``500 steps``."""
    budget = json.loads(budget_json)
    return ", ".join(_BUDGET_WORDS[k].format(_number(v)) for k, v in sorted(budget.items()) if k in _BUDGET_WORDS)


def with_configs(runs: pd.DataFrame, by: Iterable[str] = ()) -> pd.DataFrame:
    """The runs with ``budget_label`` and ``config``: the optimizer configuration, its
    budget where the runs hold more than one, its optbench version where they hold more
    than one (a run's numbers may change between versions, and its id with them), and the
    values of the ``by`` columns (provenance such as ``device`` or ``host``). Runs pool
    only within a config."""
    by = list(by)
    missing = [c for c in by if c not in runs]
    if missing:
        shown = ", ".join(repr(name[:60]) for name in missing[:5])
        raise OptbenchError(f"cannot group by {shown}: no such column of the runs table")
    runs = runs.copy()
    budgets = runs["budget"] if "budget" in runs else pd.Series("{}", index=runs.index)
    runs["budget_label"] = budgets.map(budget_label)
    config = runs["optimizer"].astype(str)
    if budgets.nunique() > 1:
        config = config + " (" + runs["budget_label"] + ")"
    if "version" in runs and "version" not in by and runs["version"].nunique() > 1:
        by.append("version")
    for column in by:
        config = config + f" [{column}=" + runs[column].astype(str) + "]"
    runs["config"] = config
    return runs


def ensure_configs(runs: pd.DataFrame) -> pd.DataFrame:
    """``runs`` with a ``config`` column (added by ``with_configs`` where missing)."""
    return runs if "config" in runs else with_configs(runs)


_MISSING = object()


def _any_match(texts: list[str], names: pd.Series, params: list[dict[str, Any]], kind: str) -> pd.Series:
    found = pd.Series(False, index=names.index)
    for text in texts:
        spec = parse_spec(text)
        matched = names == spec.name
        if spec.params:
            points = spec.expand() if any(isinstance(v, Grid) for v in spec.params.values()) else [spec]
            candidates = [p for p, m in zip(params, matched) if m]
            # Optimizer runs store every parameter; problem specs only the non-default ones.
            defaults = _defaults(kind, spec.name) if any(set(spec.params) - set(p) for p in candidates) else {}
            fits = [
                bool(m)
                and any(
                    all(_same(stored.get(k, defaults.get(k, _MISSING)), v) for k, v in point.params.items())
                    for point in points
                )
                for stored, m in zip(params, matched)
            ]
            matched = pd.Series(fits, index=names.index)
        found |= matched
        if not matched.any():
            raise OptbenchError(
                f"--{kind} {text!r} matches no stored run (stored {kind}s: {', '.join(sorted(set(names)))})"
            )
    return found


def _same(stored: Any, wanted: Any) -> bool:
    if isinstance(stored, (list, tuple)) and not isinstance(wanted, (list, tuple)):
        return len(stored) == 1 and _same(stored[0], wanted)
    if isinstance(stored, str) and not isinstance(wanted, str):
        return stored == str(wanted)
    return stored == wanted


def _problem_params(runs: pd.DataFrame) -> list[dict[str, Any]]:
    """The parameters each run's problem spec names (its non-default ones)."""
    parsed = {spec: parse_spec(spec).params for spec in set(runs["problem"])}
    return [parsed[spec] for spec in runs["problem"]]


def _defaults(kind: str, name: str) -> dict[str, Any]:
    """A registered factory's defaults; none for a name that is not registered here (a
    plugin not loaded), so only parameters stored with the runs can match."""
    try:
        return REGISTRY.get(kind, name).defaults
    except OptbenchError:
        return {}


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
