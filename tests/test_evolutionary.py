"""The genetic algorithm: its operators, that it reaches the least-squares optimum, and DEAP's reference."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import optbench
from optbench.optimizers import variation
from optbench.registry import REGISTRY

LOWER, UPPER = jnp.full(5, -1.0), jnp.full(5, 2.0)


def _words(seed: int, shape: tuple[int, ...]):
    return jax.random.bits(jax.random.PRNGKey(seed), shape, jnp.uint32)


def test_sbx_children_stay_in_the_box_and_keep_the_parents_mean():
    a = jax.random.uniform(jax.random.PRNGKey(0), (400, 5), minval=-1.0, maxval=2.0)
    b = jax.random.uniform(jax.random.PRNGKey(1), (400, 5), minval=-1.0, maxval=2.0)
    c1, c2 = variation.sbx(_words(2, (400, 5)), _words(3, (400, 1)), a, b, LOWER, UPPER, 1.0, 15.0)
    assert bool(jnp.all((c1 >= LOWER) & (c1 <= UPPER) & (c2 >= LOWER) & (c2 <= UPPER)))
    # Where the spread needed no clipping, SBX keeps each pair's mean (Deb & Agrawal 1995).
    wide_lower, wide_upper = jnp.full(5, -1e6), jnp.full(5, 1e6)
    c1, c2 = variation.sbx(_words(2, (400, 5)), _words(3, (400, 1)), a, b, wide_lower, wide_upper, 1.0, 15.0)
    np.testing.assert_allclose(c1 + c2, a + b, rtol=1e-6, atol=1e-6)
    changed = float(jnp.mean(c1 != a))
    assert 0.4 < changed < 0.6  # each variable of a crossed pair with probability 1/2


def test_polynomial_mutation_moves_about_rate_of_the_variables_inside_the_box():
    x = jnp.full((2000, 5), 0.5)
    moved = variation.polynomial_mutation(_words(4, x.shape), x, LOWER, UPPER, 0.2, 20.0)
    assert bool(jnp.all((moved >= LOWER) & (moved <= UPPER)))
    assert 0.18 < float(jnp.mean(moved != x)) < 0.22
    at_bound = variation.polynomial_mutation(_words(5, x.shape), jnp.full((2000, 5), 2.0), LOWER, UPPER, 1.0, 20.0)
    assert bool(jnp.all(at_bound <= 2.0)) and float(jnp.min(at_bound)) >= -1.0


def test_tournament_picks_the_best_entrant():
    badness = jnp.asarray([5.0, 1.0, 3.0, 0.5, 4.0])
    words = jnp.asarray([[0, 2], [4, 1], [3, 8], [7, 9]], jnp.uint32)  # entrants: words mod 5
    assert variation.tournament(words, badness).tolist() == [2, 1, 3, 2]


def test_ga_reaches_the_least_squares_optimum_in_nine_of_ten_seeds(db):
    # The goal: population 100, 100 generations, within 1e-4 relative in >= 9/10.
    runs, _ = optbench.run(["quadratic"], ["ga"], seeds=10, db=db, max_steps=100)
    f_opt = REGISTRY.problem("quadratic").f_opt
    relative = (runs["fun"] - f_opt) / f_opt
    assert (relative >= -1e-12).all()
    assert (relative <= 1e-4).sum() >= 9, relative.tolist()
    # Every individual counts: the initial population and 100 generations of 100 children.
    assert (runs["nfev"] == 100 * 101).all()
    assert set(runs["status"]) == {"max_steps"}


def test_ga_with_blend_crossover_and_gaussian_mutation_improves_on_its_start():
    result = optbench.minimize("linear", "ga[crossover=blend,mutation=gaussian,sigma=0.05]", max_steps=60, seed=1)
    start = result.trace["loss"].iloc[0]
    f_opt = REGISTRY.problem("linear").f_opt
    assert result.fun - f_opt < 1e-2 * (start - f_opt)


def test_ga_is_reproducible_and_seeds_differ():
    first = optbench.minimize("quadratic", "ga[pop_size=20]", max_steps=30, seed=3)
    again = optbench.minimize("quadratic", "ga[pop_size=20]", max_steps=30, seed=3)
    other = optbench.minimize("quadratic", "ga[pop_size=20]", max_steps=30, seed=4)
    np.testing.assert_array_equal(first.trace["loss"], again.trace["loss"])
    assert first.fun == again.fun and first.fun != other.fun


def test_ga_individuals_with_non_finite_losses_lose():
    problem = optbench.Problem(
        "nan_left",
        lambda x: jnp.where(x[0] < 0.0, jnp.nan, jnp.sum((x - 0.5) ** 2)),
        init=jnp.zeros(2),
        bounds=(-jnp.ones(2), jnp.ones(2)),
    )
    result = optbench.minimize(problem, "ga[pop_size=20]", max_steps=40, seed=0)
    assert result.status.value == "max_steps"
    assert np.isfinite(result.fun) and result.fun < 1e-3
    assert float(result.x[0]) >= 0.0


def test_ga_without_bounds_searches_a_box_around_the_start():
    problem = optbench.Problem("shifted_bowl", lambda x: jnp.sum((x - 3.0) ** 2), init=jnp.full(2, 2.5))
    result = optbench.minimize(problem, "ga[pop_size=30]", max_steps=60, seed=0)
    # The default box is start +- (1 + |start|) = [-1, 6]: it holds the optimum at 3.
    assert result.fun < 1e-4


def test_bad_operator_names_fail_the_run_with_a_clear_message():
    result = optbench.minimize("quadratic", "ga[crossover=uniform]", max_steps=5)
    assert result.status.value == "failed"
    assert "crossover must be one of sbx, blend" in result.message


def test_deap_ga_reaches_the_optimum_and_counts_every_evaluation():
    result = optbench.minimize("quadratic", "deap_ga", max_steps=60, seed=0)
    f_opt = REGISTRY.problem("quadratic").f_opt
    assert (result.fun - f_opt) / f_opt < 1e-3
    assert result.nit == 60
    # DEAP scores only the individuals its operators changed; every one of them counts.
    assert 100 < result.nfev <= 100 * 61
    assert result.trace["nfev"].is_monotonic_increasing


@pytest.mark.parametrize("optimizer", ["ga", "deap_ga"])
def test_single_objective_population_methods_skip_pareto_problems(optimizer):
    result = optbench.minimize("zdt1", optimizer, max_steps=5)
    assert result.status.value == "skipped"
    assert "requires value" in result.message
