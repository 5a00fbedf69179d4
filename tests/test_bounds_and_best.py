"""A problem's bounds, and the best loss a run saw beside the loss where it ended.

The box problem pulls every method toward (3, 3), outside its box [-1, 1]^2: on the box
the optimum is the corner (1, 1) with f = 8, by hand. A method that ignores the bounds
ends at (3, 3) with f = 0, below the box's optimum, which must never count as a success.
"""

import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize

import optbench
from optbench.cli import main
from optbench.result import Status

BOX = optbench.Problem("box_pull", lambda x: jnp.sum((x - 3.0) ** 2), init=jnp.zeros(2), bounds=(-1.0, 1.0), f_opt=8.0)


@pytest.mark.parametrize("name", ["nelder_mead", "bfgs", "adam[learning_rate=0.5]", "scipy_bfgs"])
def test_a_method_that_ignores_bounds_ends_outside_them_and_is_never_a_success(name):
    result = optbench.minimize(BOX, name, max_evals=2000)
    np.testing.assert_allclose(result.x, [3.0, 3.0], atol=1e-3)
    assert result.fun < BOX.f_opt  # below the box's optimum: the reason success must be false
    assert result.in_bounds is False and not result.success
    assert result.message.endswith("ended outside box_pull's bounds")


@pytest.mark.parametrize(
    "name, method",
    [("scipy_nelder_mead[xatol=1e-10,fatol=1e-12]", "Nelder-Mead"), ("scipy_lbfgsb", "L-BFGS-B")],
)
def test_scipy_methods_that_take_bounds_are_given_them(name, method):
    result = optbench.minimize(BOX, name, max_evals=2000)
    options = {"xatol": 1e-10, "fatol": 1e-12} if method == "Nelder-Mead" else {}
    bare = scipy.optimize.minimize(
        lambda x: np.sum((x - 3.0) ** 2), np.zeros(2), method=method, bounds=[(-1, 1)] * 2, options=options
    )
    np.testing.assert_allclose(result.x, bare.x, rtol=0, atol=1e-12)
    np.testing.assert_allclose(result.x, [1.0, 1.0], atol=1e-8)
    assert result.in_bounds is True and result.success and result.status is Status.CONVERGED


def test_a_population_method_keeps_to_the_bounds():
    result = optbench.minimize(BOX, "ga", max_evals=2000)
    assert result.in_bounds is True and np.all(np.abs(result.x) <= 1.0)
    assert result.fun == pytest.approx(8.0, abs=1e-3)


def test_a_problem_without_bounds_has_no_verdict_on_them():
    result = optbench.minimize("quadratic", "nelder_mead", max_steps=50)
    assert result.in_bounds is None


def test_describe_says_whether_a_method_keeps_to_bounds(capsys):
    assert main(["describe", "nelder_mead"]) == 0
    assert "bounds: ignores a problem's bounds" in capsys.readouterr().out
    assert main(["describe", "scipy_nelder_mead"]) == 0
    assert "bounds: keeps to a problem's bounds" in capsys.readouterr().out


def test_best_fun_is_the_lowest_loss_a_run_saw_and_is_stored(tmp_path):
    # adam with a large step overshoots and oscillates: where it ends is not its best.
    spec = "adam[learning_rate=1.5]"
    result = optbench.minimize("quadratic", spec, max_steps=40)
    losses = result.trace["loss"].to_numpy()
    assert result.best_fun == min(losses.min(), result.fun) < result.fun
    db = tmp_path / "runs.db"
    optbench.run("quadratic", spec, max_steps=40, db=db)
    stored = optbench.load_results(db).runs.iloc[0]
    assert stored["best_fun"] == result.best_fun and stored["fun"] == result.fun
    assert np.isnan(optbench.minimize(BOX, "lm").best_fun)  # skipped: no loss at all


def test_describe_says_whether_a_problems_box_is_a_constraint(capsys):
    assert main(["describe", "quadratic"]) == 0
    assert "search box: where population methods sample and search; not a constraint" in capsys.readouterr().out
    assert main(["describe", "zdt1"]) == 0  # ZDT1 is defined on [0, 1]^n
    assert "bounds: a constraint" in capsys.readouterr().out
