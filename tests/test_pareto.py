"""Pareto search: the multi-objective problems, nsga2 and its references, fronts stored and scored."""

from __future__ import annotations

import sys

import jax.numpy as jnp
import numpy as np
import pytest
from helpers import run_cli

import optbench
from optbench import fronts
from optbench.errors import OptbenchError
from optbench.registry import REGISTRY

SMALL = "nsga2[pop_size=40]"  # one compiled program shared by the tests below


def _non_dominated(f: np.ndarray) -> bool:
    """Brute force: no point of ``f`` dominates another."""
    for i in range(len(f)):
        for j in range(len(f)):
            if i != j and np.all(f[i] <= f[j]) and np.any(f[i] < f[j]):
                return False
    return True


@pytest.mark.parametrize("name", ["zdt1", "zdt2", "zdt3"])
def test_zdt_fronts_are_reached_by_the_analytic_optimal_set(name):
    problem = REGISTRY.problem(name)
    front = problem.true_front
    assert front.shape == (500, 2) and _non_dominated(front[::5])
    # The Pareto-optimal set is x2..xn = 0 (g = 1): at the front's own f1 values, it gives the front.
    chosen = front[::50]
    points = [problem.objectives(jnp.concatenate([jnp.array([f1]), jnp.zeros(29)])) for f1 in chosen[:, 0]]
    np.testing.assert_allclose(np.array(points), chosen, atol=1e-12)


def test_zdt_hypervolumes_match_their_closed_forms():
    # ZDT1: 1.1 * 1.1 minus the area above the front inside the box: 0.1 + 2/3 + 0.11.
    assert -REGISTRY.problem("zdt1").f_opt == pytest.approx(0.1 + 2 / 3 + 0.11, abs=1e-4)
    assert -REGISTRY.problem("zdt2").f_opt == pytest.approx(0.1 + 1 / 3 + 0.11, abs=1e-4)


def test_ridge_front_is_the_ridge_path():
    problem = REGISTRY.problem("ridge_front")
    front = problem.true_front
    np.testing.assert_allclose(front[0], [0.0, 1.0], atol=1e-9)  # the least-squares fit
    np.testing.assert_allclose(front[-1], [1.0, 0.0], atol=1e-9)  # all coefficients zero
    assert _non_dominated(front[::5])
    # Any point of the box lies on or above the path: none dominates a front point.
    rng = np.random.default_rng(0)
    samples = np.array([np.asarray(problem.objectives(jnp.asarray(w))) for w in rng.uniform(-4, 4, (300, 3))])
    dominated = fronts.dominance(np.vstack([samples, front]))[: len(samples), len(samples) :]
    assert not bool(np.any(dominated))


def test_ridge_path_minimizes_the_penalized_fit():
    module = sys.modules[REGISTRY.get("problem", "ridge_front").factory.__module__]  # a plugin file
    ridge_path = module.ridge_path
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((40, 3)), rng.standard_normal(40)
    for lam in (0.0, 0.3, 5.0):
        augmented = np.vstack([x / np.sqrt(40), np.sqrt(lam) * np.eye(3)])
        target = np.concatenate([y / np.sqrt(40), np.zeros(3)])
        expected = np.linalg.lstsq(augmented, target, rcond=None)[0]
        np.testing.assert_allclose(ridge_path(x, y, np.array([lam]))[0], expected, rtol=1e-10)


def test_nsga2_front_is_non_dominated_and_reproduces_from_its_parameters(db):
    runs, traces = optbench.run(["zdt1"], [SMALL], seeds=2, db=db, max_evals=4000)
    problem = REGISTRY.problem("zdt1")
    assert (runs["nfev"] == 4000).all() and set(runs["status"]) == {"max_evals"}
    assert (runs["hypervolume"] > 0.5).all()  # from 0 at the random start (measured: 0.68, 0.75)
    stored = optbench.load_fronts(db)
    for run_id, points in stored.groupby("run_id"):
        f = points[["f1", "f2"]].to_numpy()
        assert _non_dominated(f) and len(f) >= 5
        again = np.array([np.asarray(problem.objectives(jnp.asarray(x))) for x in points["x"]])
        np.testing.assert_allclose(again, f, rtol=1e-12)
        # The indicators recomputed from the stored front agree with the run's and its trace's last row.
        run = runs.set_index("run_id").loc[run_id]
        last = traces[traces["run_id"] == run_id].iloc[-1]
        hv = float(fronts.hypervolume_2d(f, problem.reference_point))
        igd, igd_plus = (float(v) for v in fronts.igd_and_igd_plus(f, problem.true_front))
        for name, value in {"hypervolume": hv, "igd": igd, "igd_plus": igd_plus}.items():
            assert run[name] == pytest.approx(value, rel=1e-9)
            assert last[name] == pytest.approx(value, rel=1e-9)
        assert run["fun"] == pytest.approx(-hv, rel=1e-12)
    # Hypervolume is recorded every generation and never falls (NSGA-II keeps its front).
    trace = traces[traces["run_id"] == runs["run_id"].iloc[0]]
    assert len(trace) == 100 and np.all(np.diff(trace["hypervolume"]) >= -1e-12)


def test_nsga2_is_reproducible():
    first = optbench.minimize("zdt1", SMALL, max_evals=800, seed=5)
    again = optbench.minimize("zdt1", SMALL, max_evals=800, seed=5)
    np.testing.assert_array_equal(first.front.objectives, again.front.objectives)
    np.testing.assert_array_equal(first.trace["igd"], again.trace["igd"])


def test_individuals_with_non_finite_objectives_lose():
    def objectives(x):
        f = jnp.stack([x[0], 1.0 - jnp.sqrt(jnp.abs(x[0])) + jnp.sum(x[1:] ** 2)])
        return jnp.where(x[1] > 0.5, jnp.array([jnp.nan, jnp.inf]), f)  # a quarter of the box is broken

    problem = optbench.Problem(
        "broken_quarter",
        objectives=objectives,
        init=jnp.zeros(3),
        bounds=(jnp.zeros(3), jnp.ones(3)),
        reference_point=(1.1, 1.1),
    )
    result = optbench.minimize(problem, "nsga2[pop_size=20]", max_evals=600, seed=0)
    assert result.status.value == "max_evals"
    assert np.isfinite(result.front.objectives).all()
    assert (result.front.params[:, 1] <= 0.5).all()
    assert result.metrics["hypervolume"] > 0.3


def test_pareto_methods_skip_single_objective_problems_and_vice_versa():
    assert "requires objectives" in optbench.minimize("quadratic", "nsga2", max_steps=3).message
    assert optbench.minimize("quadratic", "pymoo_nsga2", max_steps=3).status.value == "skipped"
    skipped = optbench.minimize("zdt1", "adam", max_steps=3)
    assert skipped.status.value == "skipped" and "requires grad" in skipped.message


def test_a_multi_objective_problem_needs_bounds_and_a_reference_point():
    with pytest.raises(OptbenchError, match="needs bounds"):
        optbench.Problem("p", objectives=lambda x: x, init=jnp.zeros(2), reference_point=(1.0, 1.0))
    with pytest.raises(OptbenchError, match="reference_point"):
        optbench.Problem("p", objectives=lambda x: x, init=jnp.zeros(2), bounds=(0.0, 1.0))
    with pytest.raises(OptbenchError, match="give a loss, or objectives"):
        optbench.Problem("p", init=jnp.zeros(2))


def test_three_objectives_fail_clearly():
    problem = optbench.Problem(
        "three", objectives=lambda x: x, init=jnp.zeros(3), bounds=(0.0, 1.0), reference_point=(1.1, 1.1, 1.1)
    )
    result = optbench.minimize(problem, "nsga2[pop_size=20]", max_evals=100)
    assert result.status.value == "failed" and "computed for two" in result.message


@pytest.mark.parametrize("optimizer", ["pymoo_nsga2[pop_size=40]", "deap_nsga2[pop_size=40]"])
def test_reference_nsga2_adapters_count_every_evaluation_and_store_their_front(optimizer, db):
    runs, traces = optbench.run(["zdt1"], [optimizer], seeds=1, db=db, max_evals=2000)
    assert runs["nfev"].tolist() == [2000] and runs["status"].tolist() == ["max_evals"]
    assert runs["hypervolume"].iloc[0] > 0.0
    front = optbench.load_fronts(db)
    assert len(front) >= 3 and _non_dominated(front[["f1", "f2"]].to_numpy())
    assert traces["nfev"].iloc[0] == 40  # the initial population is step 0


def test_cli_runs_a_pareto_comparison_tables_it_and_plots_fronts(tmp_path):
    db = tmp_path / "p.sqlite"
    ran = run_cli(
        *("run", "-p", "ridge_front", "-o", "nsga2[pop_size=40]", "-o", "pymoo_nsga2[pop_size=40]"),
        *("--max-evals", "800", "--seeds", "2", "--db", str(db), "--no-progress"),
    )
    assert ran.returncode == 0, ran.stderr
    assert "hypervolume" in ran.stdout
    csv = run_cli("table", "--format", "csv", "--db", str(db)).stdout
    assert "hypervolume_median" in csv and "igd_median" in csv
    plotted = run_cli("plot", "--kind", "front", "--db", str(db), "--output", str(tmp_path / "plots"))
    assert plotted.returncode == 0, plotted.stderr
    assert (tmp_path / "plots" / "ridge_front_front.png").stat().st_size > 10_000
    none = run_cli("plot", "--kind", "front", "--db", str(db), "--problem", "quadratic")
    assert none.returncode != 0 and "Traceback" not in none.stderr
