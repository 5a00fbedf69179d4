"""A run's numbers are the same whatever ran beside it: alone, among other seeds, inside a
hyperparameter grid, or resumed into a database that already holds some of its suite."""

import numpy as np
import pytest

import optbench


def _numbers(runs, traces, seed, optimizer=None):
    """Everything a run's numbers are: fun, x, counts, status, and its whole trace."""
    mine = runs[(runs["seed"] == seed) & ((runs["optimizer"] == optimizer) if optimizer else True)]
    assert len(mine) == 1
    row = mine.iloc[0]
    trace = traces[traces["run_id"] == row["run_id"]]
    return (
        row["run_id"],
        row["status"],
        row["fun"],
        row["x"],
        int(row["nit"]),
        int(row["nfev"]),
        trace[["step", "nfev", "njev", "loss", "best_loss"]].to_numpy().tolist(),
    )


def _assert_same(a, b):
    assert a[:3] == b[:3] and a[3] == b[3] and a[4:6] == b[4:6]
    np.testing.assert_array_equal(np.asarray(a[6]), np.asarray(b[6]))  # bit for bit, NaN rows included


# The cases where the numbers of seed 3 differed between its batch and a run of its own.
@pytest.mark.parametrize(
    "problem, optimizer, budget",
    [
        ("quadratic", "lbfgs", {"max_steps": 300}),
        ("logistic_2d", "nelder_mead", {"max_steps": 300}),
        ("sinusoidal[n=30]", "sgd[batch_size=8]", {"max_steps": 200}),
    ],
)
def test_a_seed_gives_the_same_numbers_alone_and_among_other_seeds(problem, optimizer, budget):
    alone = optbench.run(problem, optimizer, seeds=[3], **budget)
    together = optbench.run(problem, optimizer, seeds=range(5), **budget)
    _assert_same(_numbers(*alone, 3), _numbers(*together, 3))


def test_a_grid_point_gives_the_same_numbers_alone_and_inside_the_grid():
    alone = optbench.run("xor", "adam[learning_rate=0.1]", seeds=[0], max_steps=200)
    grid = optbench.run("xor", "adam[learning_rate=[0.1,0.01]]", seeds=[0], max_steps=200)
    optimizer = alone.runs["optimizer"].iloc[0]
    _assert_same(_numbers(*alone, 0), _numbers(*grid, 0, optimizer))


def test_a_resumed_suite_holds_the_numbers_of_a_suite_run_at_once(tmp_path):
    at_once, resumed = tmp_path / "at_once.sqlite", tmp_path / "resumed.sqlite"
    args = ("quadratic", ["lbfgs", "nelder_mead"])
    optbench.run(*args, seeds=5, max_steps=300, db=at_once)
    optbench.run(*args, seeds=[3], max_steps=300, db=resumed)
    optbench.run(*args, seeds=[4, 0], max_steps=300, db=resumed)
    optbench.run(*args, seeds=5, max_steps=300, db=resumed)
    first, second = optbench.load_results(at_once), optbench.load_results(resumed)
    for optimizer in first.runs["optimizer"].unique():
        for seed in range(5):
            _assert_same(_numbers(*first, seed, optimizer), _numbers(*second, seed, optimizer))


def test_runs_of_two_optbench_versions_are_never_pooled(tmp_path, monkeypatch):
    # Runs stopped sharing batches in 0.2.0, which changed their numbers and, with the
    # version, their ids: a database holding both keeps them apart.
    from optbench.analysis.selection import with_configs

    db = tmp_path / "r.sqlite"
    monkeypatch.setattr(optbench, "__version__", "0.1.0")
    optbench.run("linear", "gd", seeds=2, max_steps=10, db=db)
    monkeypatch.undo()
    optbench.run("linear", "gd", seeds=2, max_steps=10, db=db)
    configs = with_configs(optbench.load_results(db).runs)["config"]
    assert sorted(configs.value_counts().items()) == [
        ("gd [version=0.1.0]", 2),
        (f"gd [version={optbench.__version__}]", 2),
    ]
