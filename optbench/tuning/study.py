"""Tuning studies: trials drawn from each optimizer's search space, run as ordinary stored
runs, the best trial of each study chosen, and the chosen configuration scored on fresh
seeds beside the untuned default.

A study is ``trials`` configurations of each optimizer (``optbench.tuning.space.draw``,
seeded by the study), each run once on every problem with the study's seed (study k uses
seed k). Per problem, optimizer and study, the trial with the lowest final training loss
(its validation loss where the problem has a validation split; ``--rule algoperf``: the
shortest time to the target) is selected (a trial that failed, was skipped or diverged
is never selected). Each selection then runs on ``seeds`` fresh seeds (from ``FINAL_SEEDS_FROM`` on, never a tuning
seed), and so does the optimizer's default configuration. The tuned score of a problem and
optimizer is the median over studies of each selection's median final loss, so that one
lucky trial does not decide it (AlgoPerf's rule for studies).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from optbench.budget import MAX_RUNS, Budget
from optbench.drive.run_spec import RunSpec
from optbench.errors import OptbenchError, SpecError
from optbench.execute.plan import plan
from optbench.registry import REGISTRY
from optbench.spec import Grid, format_spec, parse_spec
from optbench.tuning.space import Range, draw

if TYPE_CHECKING:
    import pandas as pd

FINAL_SEEDS_FROM = 1_000_000
NOT_SELECTED = ("failed", "skipped", "diverged")


@dataclass(frozen=True)
class Rule:
    """How a tuning selects and scores: the runs column it minimizes (``measure``), and its
    trials and studies where the user gives none."""

    measure: str
    trials: int
    studies: int
    about: str


RULES = {
    "loss": Rule("fun", 20, 1, "the lowest final training loss"),
    # AlgoPerf's external tuning (Dahl et al. 2023): 5 independent studies of 20 quasi-random
    # trials, per study the fastest trial to the target, the median over studies.
    "algoperf": Rule("time_to_target", 20, 5, "the shortest time to the target (never reached: infinite)"),
}


@dataclass(frozen=True)
class Trial:
    """A run of a study: a tuning trial, the selected configuration or the default on a
    fresh seed (``role``), for the optimizer as the user named it."""

    run: RunSpec
    optimizer: str
    study: int
    role: str  # "trial", "tuned" or "default"
    tuned: list[str]  # the hyperparameters tuned
    rule: str = "loss"  # how it selects and scores (``RULES``)
    tuning: str = ""  # which tuning: a hash of its settings (``tuning_id``), so that two never pool


Overrides = dict[str, dict[str, tuple[float, float, str | None]]]  # optimizer -> parameter -> (low, high, scale)


def space_of(optimizer: str, overrides: Overrides | None = None) -> dict[str, Range]:
    """What tuning searches for ``optimizer``: its declared space with ``overrides`` (for its
    name: a parameter's (low, high, scale), scale None for the declared one, else log),
    less the hyperparameters its spec sets and the ranges whose ``when`` its settings do
    not meet (``sigma`` where the mutation is polynomial)."""
    parsed = parse_spec(optimizer)
    entry = REGISTRY.get("optimizer", parsed.name)
    space = dict(entry.space)
    numbers = {name: value for name, value in entry.defaults.items() if tunable(value)}
    for name, (low, high, scale) in (overrides or {}).get(parsed.name, {}).items():
        if name not in numbers:
            raise SpecError(
                f"{parsed.name} has no numeric hyperparameter {name!r} to tune (its numeric hyperparameters: "
                f"{', '.join(sorted(numbers)) or 'none'})"
            )
        declared = space.get(name)
        integer = isinstance(numbers[name], int)
        if integer and math.ceil(low) > math.floor(high):
            raise SpecError(f"{parsed.name}.{name} takes whole numbers, and none lies from {low:g} to {high:g}")
        how = scale or (declared.scale if declared else "log")
        space[name] = Range(float(low), float(high), how, integer, declared.when if declared else ())
    settings = {**entry.defaults, **parsed.params}
    return {name: bounds for name, bounds in space.items() if name not in parsed.params and bounds.applies(settings)}


def tunable(default: Any) -> bool:
    """Whether a hyperparameter with this default can be tuned: a number (an int tunes over
    whole numbers), not a flag."""
    return isinstance(default, (int, float)) and not isinstance(default, bool)


def trial_specs(optimizer: str, trials: int, study: int, overrides: Overrides | None = None) -> list[str]:
    """The specs of one study's trials of ``optimizer``: its search space (``space_of``)
    drawn ``trials`` times; its spec alone where nothing is left to tune."""
    parsed = parse_spec(optimizer)
    if any(isinstance(value, Grid) for value in parsed.params.values()):
        raise SpecError(f"tuning takes one configuration per optimizer, not a grid: {optimizer!r}")
    space = space_of(optimizer, overrides)
    if not space:
        return [optimizer]
    return [format_spec(parsed.name, {**parsed.params, **point}) for point in draw(space, trials, study)]


def tuned_names(optimizer: str, overrides: Overrides | None = None) -> list[str]:
    """The hyperparameters tuning searches for ``optimizer`` (sorted)."""
    return sorted(space_of(optimizer, overrides))


def plan_trials(
    problems: list[str], optimizers: list[str], trials: int, studies: int, seeds: int, budget: Budget,
    suite: str = "tune", overrides: Overrides | None = None, rule: str = "loss",
) -> list[Trial]:  # fmt: skip
    """Every tuning run: per study, its trials of each optimizer on every problem; every
    input checked (``seeds``: the fresh seeds that will score the selections), so that bad
    input is refused before a database is opened."""
    if rule not in RULES:
        raise SpecError(f"unknown tuning rule {rule!r}; the rules are {', '.join(RULES)}")
    if trials < 1 or studies < 1:
        raise SpecError(f"tuning needs at least one trial and one study, got {trials} trials and {studies} studies")
    if seeds < 1:
        raise SpecError(f"tuning scores its selections on at least one fresh seed, got {seeds}")
    per_problem = len(optimizers) * studies * max(trials, seeds)  # before any trial is drawn
    if per_problem > MAX_RUNS:
        raise OptbenchError(
            f"this tuning plans {per_problem:,} runs a problem ({len(optimizers)} optimizers x {studies:,} studies x "
            f"{max(trials, seeds):,} trials or seeds), more than optbench's limit of {MAX_RUNS:,}"
        )
    named = {parse_spec(optimizer).name for optimizer in optimizers}
    stray = sorted(set(overrides or {}) - named)
    if stray:
        raise SpecError(f"search ranges are given for {', '.join(stray)}, which this tuning does not tune")
    names = {optimizer: tuned_names(optimizer, overrides) for optimizer in optimizers}
    ids = {optimizer: tuning_id(optimizer, trials, studies, seeds, budget, rule, overrides) for optimizer in optimizers}
    planned = []
    for study in range(studies):
        for optimizer in optimizers:
            runs = plan(problems, trial_specs(optimizer, trials, study, overrides), [study], budget, suite)
            planned += [Trial(run, optimizer, study, "trial", names[optimizer], rule, ids[optimizer]) for run in runs]
    if rule == "algoperf" and (untargeted := sorted({t.run.problem for t in planned if t.run.target is None})):
        raise SpecError(
            f"the algoperf rule selects by time to the target, and {', '.join(untargeted)} has none: give --target "
            "LOSS, or problems whose optimum is known"
        )
    return planned


def tuning_id(
    optimizer: str, trials: int, studies: int, seeds: int, budget: Budget, rule: str, overrides: Overrides | None
) -> str:
    """A short hash of what defines one optimizer's tuning: its spec, the trials, studies and
    fresh seeds, the budget, the rule and the space searched. Runs of two tunings (more
    trials, another range) are never pooled in a table."""
    import hashlib
    import json

    space = {name: (r.low, r.high, r.scale, r.integer) for name, r in space_of(optimizer, overrides).items()}
    settings = [optimizer, trials, studies, seeds, budget.as_dict(), rule, space]
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:12]


def selections(trials: list[Trial], runs: pd.DataFrame, rule: str = "loss") -> dict[tuple[str, str, int], RunSpec]:
    """The selected trial of each (problem, optimizer, study): the lowest value of the rule's
    measure (final training loss, or its validation loss where the problem has a validation
    split; or the time to the target) among its trials that measured one
    and neither failed, was skipped nor diverged; ties go to the earlier trial. A study
    whose every trial failed (or, by time, never reached the target) selects none."""
    import numpy as np
    import pandas as pd

    by_id = runs.set_index("run_id")
    measure = RULES[rule].measure
    best: dict[tuple[str, str, int], tuple[float, RunSpec]] = {}
    for trial in trials:
        row = by_id.loc[trial.run.run_id]
        # A problem's validation split decides where it has one (a classifier's validation_fraction).
        chosen = "val_loss" if measure == "fun" and pd.notna(row.get("val_loss", None)) else measure
        fun = float(row[chosen]) if row[chosen] is not None else float("nan")
        if row["status"] in NOT_SELECTED or not np.isfinite(fun):
            continue
        key = (trial.run.problem, trial.optimizer, trial.study)
        if key not in best or fun < best[key][0]:
            best[key] = (fun, trial.run)
    return {key: run for key, (_, run) in best.items()}


def plan_finals(
    selected: dict[tuple[str, str, int], RunSpec], optimizers: list[str], problems: Iterable[str],
    seeds: int, budget: Budget, suite: str, tuned: dict[str, list[str]], rule: str, ids: dict[str, str],
) -> list[Trial]:  # fmt: skip
    """The runs that score the selections, and the defaults, on fresh seeds; ``tuned`` and
    ``ids``: each optimizer's tuned hyperparameters and tuning id."""
    fresh = [FINAL_SEEDS_FROM + i for i in range(seeds)]
    planned = []
    for (problem, optimizer, study), run in selected.items():
        for final in plan([problem], [run.optimizer.label], fresh, budget, suite):
            planned.append(Trial(final, optimizer, study, "tuned", tuned[optimizer], rule, ids[optimizer]))
    for optimizer in optimizers:
        for final in plan(list(problems), [optimizer], fresh, budget, suite):
            planned.append(Trial(final, optimizer, -1, "default", tuned[optimizer], rule, ids[optimizer]))
    return planned


def study_scores(tuned: pd.DataFrame, measure: str) -> dict[int, float]:
    """Each study's score: its selection's median ``measure`` over the fresh seeds (a time to
    the target that was never reached counts as infinite)."""
    import numpy as np

    scores = {}
    for study, group in tuned.groupby("study"):
        values = group[measure].astype(float)
        scores[int(study)] = float(np.median(values.fillna(np.inf) if measure == "time_to_target" else values))
    return scores


def median_study(scores: dict[int, float]) -> int:
    """The study whose score is the median (the lower one for an even number of studies)."""
    order = sorted(scores, key=lambda s: (scores[s], s))
    return order[(len(order) - 1) // 2]


def tuned_table(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per problem and optimizer from a tuning's runs (``frame``: the runs rows, each
    with its ``tuned_optimizer``, ``study``, ``role`` and ``tuned`` hyperparameter names, as
    the tuning table records them): the tuned score (median over studies of each
    selection's median final loss, and its range over studies), the untuned default's
    median final loss, the selected hyperparameters (of the median study: the lower one
    for an even number), how many studies and trials, and what tuning cost (evaluations
    and seconds of every trial)."""
    import json

    import numpy as np
    import pandas as pd

    rows, measures = [], []
    for (problem, optimizer, rule, _), mine in frame.groupby(
        ["problem", "tuned_optimizer", "rule", "tuning"], sort=False
    ):
        m = RULES[rule].measure
        measures.append(m)
        spent = mine[mine["role"] == "trial"].drop_duplicates("run_id")
        tuned = mine[mine["role"] == "tuned"]
        scores = study_scores(tuned, m)
        defaults = mine[mine["role"] == "default"].assign(study=-1)
        studies = spent["study"].nunique()
        names = list(mine["tuned"].iloc[0])
        row: dict[str, Any] = {
            "problem": problem,
            "optimizer": optimizer,
            "studies": studies,
            "trials": len(spent) // max(1, studies),
            "rule": rule,
            f"tuned_{m}": float("nan"),
            f"tuned_{m}_min": float("nan"),
            f"tuned_{m}_max": float("nan"),
            f"default_{m}": study_scores(defaults, m)[-1] if len(defaults) else float("nan"),
            "tuning_evals": int(spent["nfev"].sum()),
            "tuning_time_s": float(spent["time_s"].sum()),
            **dict.fromkeys(names),
        }
        if scores:
            params = json.loads(tuned[tuned["study"] == median_study(scores)]["params"].iloc[0])
            row.update({
                f"tuned_{m}": float(np.median(list(scores.values()))),
                f"tuned_{m}_min": min(scores.values()),
                f"tuned_{m}_max": max(scores.values()),
                **{name: params.get(name) for name in names},
            })  # fmt: skip
        row["note"] = "" if names else "nothing to tune: its defaults"
        if names and not scores:
            row["note"] = "every trial failed, was skipped, diverged" + (
                " or never reached the target" if m == "time_to_target" else ""
            )
        rows.append(row)
    table = pd.DataFrame(rows)
    measures = list(dict.fromkeys(measures))
    first = ["problem", "optimizer", *(f"{kind}_{m}" for m in measures for kind in ("tuned", "default"))]
    last = [
        *(f"tuned_{m}_{end}" for m in measures for end in ("min", "max")),
        "rule", "studies", "trials", "tuning_evals", "tuning_time_s", "note",
    ]  # fmt: skip
    chosen = [c for c in table.columns if c not in first and c not in last]  # the selected hyperparameters
    return table[[*first, *chosen, *last]]


def with_roles(runs: pd.DataFrame, tuning: pd.DataFrame) -> pd.DataFrame:
    """The runs rows of a tuning, one per role a run has in it (``ResultStore.tuning``), in
    the order the tuning planned them (not the order they finished in: on workers or Dask
    that varies, and the tuned table's rows follow it)."""
    roles = tuning.rename(columns={"optimizer": "tuned_optimizer"})
    return roles.merge(runs, on="run_id")


@dataclass(frozen=True)
class Tuned:
    """A tuned comparison: its table (``tuned_table``) and every run it made, each runs
    row with its ``study`` (-1 for a default) and ``role`` (trial, tuned or default)."""

    table: pd.DataFrame
    runs: pd.DataFrame


def tune_in(
    store: Any, planned: list[Trial], problems: list[str], optimizers: list[str], *, seeds: int, budget: Budget,
    suite: str = "tune", run: Any,
) -> Tuned:  # fmt: skip
    """Run a tuned comparison into ``store``: the ``planned`` trials (``plan_trials``), then
    the selections and the defaults on fresh seeds; ``run(runs)`` executes what the store
    lacks (resume, workers: the caller's executor)."""
    store.remember_tuning(_roles(planned))
    run(_unique([t.run for t in planned]))
    rule = planned[0].rule
    selected = selections(planned, store.runs([t.run.run_id for t in planned]), rule)
    tuned, ids = {t.optimizer: t.tuned for t in planned}, {t.optimizer: t.tuning for t in planned}
    finals = plan_finals(selected, optimizers, problems, seeds, budget, suite, tuned, rule, ids)
    store.remember_tuning(_roles(finals))
    run(_unique([f.run for f in finals]))
    everything = [*planned, *finals]
    runs = with_roles(store.runs(list(dict.fromkeys(t.run.run_id for t in everything))), _frame(everything))
    return Tuned(tuned_table(runs), runs)


def _unique(runs: list[RunSpec]) -> list[RunSpec]:
    """Runs once each (a default with nothing to tune is also its own selection)."""
    return list({run.run_id: run for run in runs}.values())


def _roles(trials: list[Trial]) -> list[tuple[str, str, int, str, list[str], str, str]]:
    """The tuning table's rows for these runs (``ResultStore.remember_tuning``)."""
    return [(t.run.run_id, t.optimizer, t.study, t.role, t.tuned, t.rule, t.tuning) for t in trials]


def _frame(trials: list[Trial]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(
        _roles(trials), columns=["run_id", "optimizer", "study", "role", "tuned", "rule", "tuning"]
    ).drop_duplicates(["run_id", "tuning", "study", "role"])
