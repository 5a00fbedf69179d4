"""The Python entry points: ``minimize`` one problem, ``run`` a whole comparison, ``tune``
every optimizer under one tuning budget and compare them on fresh seeds."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jax
import numpy as np
import pandas as pd

from optbench.budget import budget_of
from optbench.drive.run_one import Built, begin, driver, judged, run_one
from optbench.drive.run_spec import RunSpec, measured_target
from optbench.errors import OptbenchError
from optbench.execute import execute
from optbench.execute.plan import pending
from optbench.execute.prepare import prepare
from optbench.optimizer_config import OptimizerConfig, optimizer_configs
from optbench.problem import Problem
from optbench.progress import Progress
from optbench.registry import REGISTRY
from optbench.result import Result
from optbench.solver import HostSolver, NativeSolver
from optbench.store import Results, ResultStore


def minimize(
    problem: str | Problem,
    optimizer: str | OptimizerConfig | NativeSolver | HostSolver | Any,
    *,
    seed: int = 0,
    max_steps: int | None = None,
    max_evals: int | None = None,
    max_time: float | None = None,
    target: float | None = None,
    max_epochs: float | None = None,
    max_evals_per_dim: int | None = None,
) -> Result:
    """Minimize one problem with one optimizer configuration; nothing is stored.

    Args:
        problem: a spec string such as ``"quadratic[n=500]"`` or a ``Problem``.
        optimizer: a spec string such as ``"adam[learning_rate=0.1]"``, an optax
            ``GradientTransformation``, a native solver or a library (host) solver.
        seed: draws the starting point (where the problem's is random) and minibatches.
        max_steps, max_evals, max_time, target, max_epochs: the budget (1000 steps when
            none is given); ``max_epochs`` counts passes over the training data.
        max_evals_per_dim: an evaluation budget of this many times the number of parameters.
    """
    budget = budget_of(
        max_steps=max_steps, max_evals=max_evals, max_time=max_time, target=target, max_epochs=max_epochs,
        max_evals_per_dim=max_evals_per_dim,
    )  # fmt: skip
    prob = REGISTRY.problem(problem) if isinstance(problem, str) else problem
    if not isinstance(prob, Problem):
        raise OptbenchError(f"minimize needs a Problem or a problem spec, got {type(problem).__name__}")
    if isinstance(optimizer, (str, OptimizerConfig)):
        config = optimizer if isinstance(optimizer, OptimizerConfig) else _single(optimizer)
        return run_one(prob, RunSpec(prob.spec, config, seed, budget, f_opt=prob.f_opt))
    try:
        built = Built.from_object(optimizer)
        target = measured_target(budget, prob.f_opt)
        budget = budget.for_problem(prob.n_params)
        begin(prob)
        result = driver(built.solver).run(prob, [built], budget, [(seed, target)])[0]
        return judged(prob, built.solver, seed, result)
    except OptbenchError:
        raise
    except Exception as err:  # as in a suite, an optimizer that raises is a failed run
        return Result.from_error(err)


def run(
    problems: str | Iterable[str],
    optimizers: str | Iterable[str],
    *,
    seeds: int | Iterable[int] = 1,
    db: str | Path | None = None,
    suite: str = "",
    plugins: Iterable[str | Path] = (),
    max_steps: int | None = None,
    max_evals: int | None = None,
    max_time: float | None = None,
    target: float | None = None,
    max_epochs: float | None = None,
    max_evals_per_dim: int | None = None,
    retry_failed: bool = False,
    workers: int = 1,
    run_timeout: float | None = None,
    client: Any = None,
    progress: bool = True,
) -> Results:
    """Run problems x optimizer configurations x seeds; the Python twin of ``optbench run``.

    Returns the runs and traces as ``load_results`` would, for just these runs. With
    ``db`` they are stored there (runs already stored are not run again); without it
    they live in memory; ``retry_failed`` runs again the runs stored there as failed.
    ``workers`` > 1 runs them in that many worker processes on this machine, which load
    ``plugins`` (problems and optimizers defined in this session cannot go there), and
    ``run_timeout`` seconds then stop a run that hangs, storing it as failed. With a
    ``distributed.Client``, the runs go to its Dask cluster instead (``run_timeout``
    works there too). ``progress``: a bar (tqdm's) with the time left, in a notebook or
    where stderr is a terminal.
    """
    problems, optimizers, plugins = _named(problems, optimizers, plugins)
    budget = budget_of(
        max_steps=max_steps, max_evals=max_evals, max_time=max_time, target=target, max_epochs=max_epochs,
        max_evals_per_dim=max_evals_per_dim,
    )  # fmt: skip
    cluster = None if client is None else "remote"
    runs, workers = prepare(problems, optimizers, seeds, budget, suite, workers=workers, run_timeout=run_timeout,
                            cluster=cluster, cap_workers=False)  # fmt: skip
    with ResultStore(":memory:" if db is None else db) as store:
        _execute_in(store, runs, progress, retry_failed, workers=workers, plugins=plugins, run_timeout=run_timeout,
                    client=client)  # fmt: skip
        return store.load([r.run_id for r in runs])


def _named(problems: str | Iterable[str], optimizers: str | Iterable[str], plugins: Iterable[str | Path]):
    """The problem and optimizer specs as lists, and the plugins, loaded."""
    plugins = list(plugins)
    REGISTRY.load_plugins(plugins)
    problems = [problems] if isinstance(problems, str) else list(problems)
    optimizers = [optimizers] if isinstance(optimizers, str) else list(optimizers)
    return problems, optimizers, plugins


def _execute_in(store: ResultStore, runs: list[RunSpec], progress: bool, retry_failed: bool = False, **options: Any):
    """Run what ``store`` lacks of ``runs`` (``optbench.execute.execute``'s options), with a bar."""
    work = pending(runs, store, retry_failed)
    bar = Progress(len(work.todo), show=progress)
    try:
        execute(runs, store, bar.update, retry_failed=retry_failed, work=work, **options)
    finally:
        bar.close()


def tune(
    problems: str | Iterable[str],
    optimizers: str | Iterable[str],
    *,
    trials: int | None = None,
    studies: int | None = None,
    seeds: int = 5,
    rule: str = "loss",
    space: dict[str, dict[str, tuple]] | None = None,
    db: str | Path | None = None,
    plugins: Iterable[str | Path] = (),
    max_steps: int | None = None,
    max_evals: int | None = None,
    max_time: float | None = None,
    target: float | None = None,
    max_epochs: float | None = None,
    max_evals_per_dim: int | None = None,
    workers: int = 1,
    run_timeout: float | None = None,
    client: Any = None,
    progress: bool = True,
) -> Any:
    """A tuned comparison; the Python twin of ``optbench tune``. Each optimizer gets
    ``trials`` configurations per study drawn from its search space (``optbench describe
    NAME`` shows it; hyperparameters its spec sets are not tuned), each study selects per
    problem its trial with the lowest final training loss, and the selections and the
    defaults run on ``seeds`` fresh seeds. ``space`` replaces or narrows ranges:
    ``{"adam": {"learning_rate": (1e-4, 0.1)}}`` (a third item names the scale). ``rule``:
    ``"loss"`` (20 trials, one study, by final loss) or ``"algoperf"`` (20 trials, 5
    studies, by time to the target), setting the trials and studies not given. Returns
    ``Tuned(table, runs)``: per problem and optimizer the tuned score (median over
    studies), the untuned default's, the selected hyperparameters and the tuning cost;
    and every run, with its study and role (see ``optbench.tuning.study``). Stored in
    ``db`` where given (an interrupted tuning resumes); ``workers``, ``run_timeout`` and a
    Dask ``client`` run it as they run ``optbench.run``."""
    from optbench.tuning.study import RULES, plan_trials, tune_in

    problems, optimizers, plugins = _named(problems, optimizers, plugins)
    budget = budget_of(
        max_steps=max_steps, max_evals=max_evals, max_time=max_time, target=target, max_epochs=max_epochs,
        max_evals_per_dim=max_evals_per_dim,
    )  # fmt: skip
    prepare(problems, optimizers, 1, budget, workers=workers, run_timeout=run_timeout,
            cluster=None if client is None else "remote", cap_workers=False)  # fmt: skip
    overrides = {
        optimizer: {name: (*bounds[:2], bounds[2] if len(bounds) > 2 else None) for name, bounds in ranges.items()}
        for optimizer, ranges in (space or {}).items()
    }
    chosen = RULES.get(rule, RULES["loss"])  # an unknown rule is refused by plan_trials
    trials = chosen.trials if trials is None else trials
    studies = chosen.studies if studies is None else studies
    planned = plan_trials(problems, optimizers, trials, studies, seeds, budget, overrides=overrides, rule=rule)

    with ResultStore(":memory:" if db is None else db) as store:

        def run(runs: list[RunSpec]) -> None:
            _execute_in(store, runs, progress, workers=workers, plugins=plugins, run_timeout=run_timeout, client=client)

        return tune_in(store, planned, problems, optimizers, seeds=seeds, budget=budget, run=run)


def make_problem(spec: str) -> Problem:
    """The problem a spec names (``"quadratic[n=500]"``), built as runs build it: its data,
    starting point, known optimum and, where it has one, its model (``Problem.predict``)."""
    return REGISTRY.problem(spec)


def population_history(problem: str | Problem, optimizer: str, generations: int, *, seed: int = 0) -> Any:
    """Every generation of a native population method (``ga``, ``nsga2``) on ``problem``,
    for pictures of how a population moves: a DataFrame with one row per individual and
    generation (0 is the initial population), its flat parameters ``x0, x1, ...`` and its
    loss (``f``) or objectives (``f1, f2, ...``). The steps are the method's own, run one
    generation at a time outside the benchmark loop: nothing is stored or counted, and
    the random draws are not those of a stored run with the same seed."""
    prob = REGISTRY.problem(problem) if isinstance(problem, str) else problem
    config = _single(optimizer)
    solver = config.build(config.floats)
    if not isinstance(solver, NativeSolver) or generations < 0:
        raise OptbenchError(
            f"population_history needs a native population method and generations >= 0, got {optimizer!r}"
        )
    start_key, run_key = jax.random.split(jax.random.key(seed))
    state = solver.init(prob, prob.data, prob.init_params(start_key), run_key)
    if not hasattr(state, "population"):
        raise OptbenchError(f"{optimizer!r} keeps no population (ga and nsga2 do)")
    step = jax.jit(lambda s: solver.step(prob, prob.data, s)[0])
    frames = []
    for generation in range(generations + 1):
        population = np.asarray(state.population, dtype=float)
        scores = np.asarray(state.fitness if hasattr(state, "fitness") else state.objectives, dtype=float)
        scores = scores.reshape(len(population), -1)
        names = ["f"] if scores.shape[1] == 1 else [f"f{k + 1}" for k in range(scores.shape[1])]
        frame = pd.DataFrame(population, columns=[f"x{k}" for k in range(population.shape[1])])
        frame[names] = scores
        frame.insert(0, "generation", generation)
        frames.append(frame)
        if generation < generations:
            state = step(state)
    return pd.concat(frames, ignore_index=True)


def _single(spec: str) -> OptimizerConfig:
    configs = optimizer_configs(spec)
    if len(configs) != 1:
        raise OptbenchError(f"minimize takes one configuration; {spec!r} is a grid of {len(configs)}")
    return configs[0]
