"""Black-box objectives: plain numpy functions solved by every method that can use them,
with nfev equal to the calls the function saw (counted here), and exceptions, NaN and
bad settings as results or clear errors."""

import numpy as np
import pytest
from helpers import plugin_dir

import optbench
from optbench.cli import main
from optbench.errors import OptbenchError
from optbench.result import Status

SINGLE = ["nelder_mead", "scipy_nelder_mead", "ga", "deap_ga"]
PARETO = ["nsga2", "pymoo_nsga2", "deap_nsga2"]


class Counted:
    """A numpy function that counts the points it is asked about, and its calls."""

    def __init__(self, fn, vectorized=False):
        self.fn, self.vectorized, self.points, self.calls = fn, vectorized, 0, 0

    def __call__(self, x):
        self.calls += 1
        self.points += len(x) if self.vectorized else 1
        return self.fn(x)


def rosenbrock(x):
    return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))


def zdt1(x):
    g = 1 + 9 * np.mean(x[1:])
    return [x[0], g * (1 - np.sqrt(x[0] / g))]


def zdt1_front(n):
    f1 = np.linspace(0, 1, n)
    return np.stack([f1, 1 - np.sqrt(f1)], axis=1)


@pytest.mark.parametrize("name", SINGLE)
def test_a_numpy_rosenbrock_is_solved_and_every_call_counted(name):
    fn = Counted(rosenbrock)
    problem = optbench.black_box_problem("np_rosenbrock", fn, x0=[-1.2, 1.0], f_opt=0.0, x_opt=[1.0, 1.0])
    result = optbench.minimize(problem, name, max_evals=5000)
    assert result.nfev == fn.points > 0
    assert result.fun < (1e-8 if "nelder_mead" in name else 1e-4)
    np.testing.assert_allclose(result.x, [1.0, 1.0], atol=0.05 if "ga" in name else 1e-3)


def test_gradient_methods_skip_a_black_box_with_the_reason():
    problem = optbench.black_box_problem("np_rosenbrock", rosenbrock, x0=[-1.2, 1.0])
    for name in ["bfgs", "adam", "scipy_bfgs", "lm"]:
        result = optbench.minimize(problem, name)
        assert result.status is Status.SKIPPED and "which np_rosenbrock does not offer" in result.message
        assert ("fd_grad=True" in result.message) == (name != "lm")  # what gives it gradients, where that helps


def test_native_nelder_mead_makes_only_the_calls_it_counts_over_seeds():
    # Three seeds drawing their starts in the bounds: the loop's own measurements (the
    # start's loss, the answer's) and the steps of a stopped run would be uncounted calls.
    fn = Counted(rosenbrock)
    problem = optbench.black_box_problem("np_rosenbrock_box", fn, bounds=([-2, -2], [2, 2]), f_opt=0.0)
    optbench.register_problem("np_rosenbrock_box")(lambda: problem)
    runs, _ = optbench.run("np_rosenbrock_box", ["nelder_mead", "ga[pop_size=20]"], seeds=3, max_evals=2000)
    assert runs["nfev"].sum() == fn.points
    assert set(runs["status"]) <= {"converged", "max_evals"}


def test_native_nelder_mead_never_calls_past_its_budget():
    # A step makes up to n + 2 calls (reflection, expansion or contraction, a shrink of n
    # vertices): the loop starts one only where the budget leaves that many. 0.3.0 made
    # 10,001-10,006 calls of a 10,000 budget in the audit.
    n = 10
    fn = Counted(rosenbrock)
    problem = optbench.black_box_problem("np_rosenbrock_10", fn, x0=np.tile([-1.2, 1.0], n // 2))
    for budget in (2 * n + 3, 97, 948):  # 0.3.0 made 98 and 949 calls here
        fn.points = 0
        result = optbench.minimize(problem, "nelder_mead", max_evals=budget)
        assert result.status is Status.MAX_EVALS and budget - (n + 2) < result.nfev == fn.points <= budget
    fn.points = 0
    short = optbench.minimize(problem, "nelder_mead", max_evals=2 * n + 2)
    assert short.status is Status.SKIPPED and "may make 23" in short.message and fn.points == 0


@pytest.mark.parametrize("name", SINGLE)
def test_a_vectorized_sphere_gets_a_population_in_one_call(name):
    fn = Counted(lambda X: np.sum((X - 0.5) ** 2, axis=1), vectorized=True)
    problem = optbench.black_box_problem("np_sphere", fn, x0=np.zeros(4), bounds=(-5, 5), vectorized=True, f_opt=0.0)
    result = optbench.minimize(problem, name, max_evals=4000, target=1e-6 if "nelder_mead" in name else None)
    assert result.nfev == fn.points
    assert result.fun <= (1e-6 if "nelder_mead" in name else 1e-2)
    if "ga" in name:  # 40 generations of 100: one call each
        assert fn.calls == 40 and fn.points == 4000


@pytest.mark.parametrize("name", PARETO)
def test_a_numpy_zdt1_is_solved_by_pareto_methods(name):
    fn = Counted(zdt1)
    problem = optbench.black_box_problem(
        "np_zdt1", fn, bounds=(np.zeros(5), np.ones(5)), objectives=2, reference_point=[1.1, 1.1],
        pareto_front=zdt1_front,
    )  # fmt: skip
    result = optbench.minimize(problem, name, max_steps=60)
    assert result.nfev == fn.points == 100 * 61
    # The true front's hypervolume against (1.1, 1.1): 0.1 + 2/3 + 0.11 = 0.87667.
    assert 0.85 < result.metrics["hypervolume"] <= 0.8767
    assert result.metrics["igd"] < 0.02


def test_an_exception_in_the_black_box_fails_its_run_with_the_message_and_the_suite_goes_on():
    def fragile(x):
        if x[0] > -1.1:
            raise ValueError("simulation diverged at t=3")
        return float(np.sum(x**2))

    optbench.register_problem("np_good")(lambda: optbench.black_box_problem("np_good", rosenbrock, x0=[-1.2, 1.0]))
    optbench.register_problem("np_fragile")(lambda: optbench.black_box_problem("np_fragile", fragile, x0=[-1.2, 1.0]))
    runs, _ = optbench.run(["np_fragile", "np_good"], SINGLE, max_evals=300)
    by = runs.set_index(["problem", "optimizer"])
    for name in SINGLE:
        assert by.loc[("np_fragile", name), "status"] == "failed"
        assert by.loc[("np_fragile", name), "message"] == (
            "the black-box function raised ValueError: simulation diverged at t=3"
        )
        assert by.loc[("np_good", name), "status"] != "failed"


@pytest.mark.parametrize("name", SINGLE)
def test_nan_everywhere_is_a_diverged_run(name):
    problem = optbench.black_box_problem("np_nan", lambda x: float("nan"), x0=[-1.2, 1.0])
    assert optbench.minimize(problem, name, max_evals=300).status is Status.DIVERGED


def test_a_black_box_returning_the_wrong_number_of_values_fails_with_the_reason():
    problem = optbench.black_box_problem("np_two", lambda x: [1.0, 2.0], x0=[0.0, 0.0])
    result = optbench.minimize(problem, "nelder_mead")
    assert result.status is Status.FAILED and "returned 2 numbers for 1 point(s)" in result.message


def test_bad_black_box_settings_are_clear_errors():
    with pytest.raises(OptbenchError, match="give a starting point x0, or bounds"):
        optbench.black_box_problem("np", rosenbrock)
    with pytest.raises(OptbenchError, match="must be callable"):
        optbench.black_box_problem("np", 3.0, x0=[0.0])
    with pytest.raises(OptbenchError, match="lower < upper"):
        optbench.black_box_problem("np", rosenbrock, bounds=([1, 1], [0, 2]))
    with pytest.raises(OptbenchError, match="without x0, give bounds as vectors"):
        optbench.black_box_problem("np", rosenbrock, bounds=(-5, 5))  # how many variables?
    with pytest.raises(OptbenchError, match="vectors of length 3"):
        optbench.black_box_problem("np", rosenbrock, x0=[0, 0, 0], bounds=([-1, -1], [1, 1]))


PLUGIN = """
    import numpy as np
    import optbench

    @optbench.register_problem("np_rosenbrock_plugin")
    def np_rosenbrock_plugin(n: int = 2):
        \"\"\"Rosenbrock written in numpy.\"\"\"
        fn = lambda x: float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))
        return optbench.black_box_problem("np_rosenbrock_plugin", fn, x0=np.zeros(n), f_opt=0.0)
"""


def test_a_black_box_from_a_plugin_file_runs_from_the_command_line(tmp_path, capsys):
    plugins = plugin_dir(tmp_path, PLUGIN)
    db = tmp_path / "runs.sqlite"
    command = ["run", "-p", "np_rosenbrock_plugin[n=3]", "-o", "nelder_mead", "-o", "scipy_nelder_mead", "-o", "bfgs"]
    assert main([*command, "--plugins", str(plugins), "--db", str(db), "--max-evals", "3000", "--no-progress"]) == 0
    runs, _ = optbench.load_results(db)
    by = runs.set_index("optimizer")
    assert by.loc["nelder_mead", "fun"] < 1e-8 and by.loc["scipy_nelder_mead", "fun"] < 1e-6
    assert by.loc["bfgs", "status"] == "skipped"


def test_scipy_nelder_mead_gets_the_whole_evaluation_budget():
    # scipy's own default limit is 200 x n = 2,000 evaluations in 10 dimensions; under a
    # budget of 10,000 it must not stop there and call that the budget.
    fn = Counted(rosenbrock)
    problem = optbench.black_box_problem("np_rosenbrock10", fn, x0=np.zeros(10), f_opt=0.0)
    result = optbench.minimize(problem, "scipy_nelder_mead[xatol=1e-12,fatol=1e-12]", max_evals=10_000)
    assert result.nfev == fn.points > 2000
    assert result.status in (Status.CONVERGED, Status.MAX_EVALS)
    assert result.status is Status.CONVERGED or result.nfev == 10_000


def test_scipy_lm_counts_the_jacobians_it_evaluated():
    # scipy itself reports one Jacobian fewer than it evaluates on Beale from (1, 1):
    # counted here by hand, 8 calls against its njev of 7. optbench counts the calls.
    import jax.numpy as jnp
    from scipy.optimize import least_squares

    y = np.array([1.5, 2.25, 2.625])
    powers = np.arange(1, 4)
    calls = {"jac": 0}

    def jacobian(p):
        calls["jac"] += 1
        return np.stack([-(1 - p[1] ** powers), p[0] * powers * p[1] ** (powers - 1)], axis=1)

    reference = least_squares(lambda p: y - p[0] * (1 - p[1] ** powers), [1.0, 1.0], jac=jacobian, method="lm")
    assert (calls["jac"], reference.njev) == (8, 7)
    beale = optbench.Problem(
        "beale_ls", loss=lambda p: jnp.mean((y - p[0] * (1 - p[1] ** powers)) ** 2),
        residuals=lambda p, batch=None: y - p[0] * (1 - p[1] ** powers), init=jnp.array([1.0, 1.0]),
    )  # fmt: skip
    ours = optbench.minimize(beale, "scipy_lm")
    assert ours.njev == calls["jac"] and ours.nfev == reference.nfev


def test_finite_difference_gradients_let_library_methods_run_and_count_every_difference():
    """Forward differences cost n + 1 evaluations a gradient, central 2 n + 1; nfev is the
    points the function saw. Forward-difference scipy_bfgs spends what scipy's BFGS spends
    with its own finite differences (scipy.optimize.minimize without jac) on the same function."""
    import scipy.optimize

    x0 = np.array([-1.2, 1.0, -1.2, 1.0])
    for fd, per_gradient in (("forward", 5), ("central", 9)):
        for name in ["scipy_bfgs", "scipy_lbfgsb"]:
            fn = Counted(rosenbrock)
            problem = optbench.black_box_problem(f"np_rosenbrock_{fd}", fn, x0=x0, f_opt=0.0, fd_grad=fd)
            result = optbench.minimize(problem, name, max_evals=20_000)
            assert result.nfev == fn.points == per_gradient * result.njev > 0  # every call is a gradient's
            assert result.fun < 1e-9 and result.status is Status.CONVERGED
            np.testing.assert_allclose(result.x, np.ones(4), atol=1e-4)
    fn = Counted(rosenbrock)
    problem = optbench.black_box_problem("np_rosenbrock_fd", fn, x0=x0, fd_grad=True)
    ours = optbench.minimize(problem, "scipy_bfgs", max_evals=20_000)
    theirs = scipy.optimize.minimize(rosenbrock, x0, method="BFGS")
    assert (ours.nfev, ours.njev) == (theirs.nfev, theirs.njev)
    np.testing.assert_allclose(ours.x, theirs.x, atol=1e-6)


def test_finite_differences_respect_the_budget_and_native_gradient_methods_skip_them():
    rosenbrocks = lambda X: np.sum(100.0 * (X[:, 1:] - X[:, :-1] ** 2) ** 2 + (1 - X[:, :-1]) ** 2, axis=1)
    fn = Counted(rosenbrocks, vectorized=True)
    problem = optbench.black_box_problem("np_rosenbrock_fd6", fn, x0=np.zeros(6), fd_grad="central", vectorized=True)
    result = optbench.minimize(problem, "scipy_bfgs", max_evals=40)  # a gradient costs 13: three fit, not four
    assert result.status is Status.MAX_EVALS and result.nfev == fn.points == 39 and fn.calls == 3
    for name in ["bfgs", "lbfgs", "adam", "gd"]:
        skipped = optbench.minimize(problem, name)
        assert skipped.status is Status.SKIPPED and "needs JAX's derivatives" in skipped.message
    assert "grad" in problem.capabilities and "residuals" not in problem.capabilities
    with pytest.raises(OptbenchError, match="fd_grad is False, True, 'forward' or 'central'"):
        optbench.black_box_problem("np", rosenbrock, x0=[0.0, 0.0], fd_grad="backward")


def _decay_data():
    x = np.linspace(0, 5, 40)
    return x, 3.0 * np.exp(-0.7 * x) + 0.05 * np.random.default_rng(0).standard_normal(40)


@pytest.mark.parametrize("vectorized", [False, True])
def test_library_least_squares_fit_a_black_box_model_by_its_residuals(vectorized):
    import scipy.optimize

    x, y = _decay_data()

    def residuals(p):
        p = np.asarray(p)
        return p[..., :1] * np.exp(-p[..., 1:] * x) - y

    counted = Counted(residuals, vectorized=vectorized)
    problem = optbench.black_box_problem("bb_decay", residuals=counted, x0=[1.0, 1.0], vectorized=vectorized)
    reference = scipy.optimize.least_squares(residuals, [1.0, 1.0], method="lm")
    for name in ("scipy_lm", "scipy_trf"):
        counted.points = 0
        result = optbench.minimize(problem, name, max_evals=500)
        assert result.status == Status.CONVERGED, result.message
        assert result.fun == pytest.approx(np.mean(reference.fun**2), rel=1e-9)
        assert result.nfev == counted.points  # every finite difference is an evaluation
    # The loss is the residuals' mean square, so derivative-free methods see the same problem.
    assert optbench.minimize(problem, "nelder_mead", max_evals=400).fun == pytest.approx(
        np.mean(reference.fun**2), rel=1e-6
    )
    native = optbench.minimize(problem, "lm")
    assert native.status == Status.SKIPPED and "scipy_lm" in native.message


def test_a_black_box_fit_keeps_to_its_evaluation_budget_and_reports_a_raising_model():
    x, y = _decay_data()
    counted = Counted(lambda p: p[0] * np.exp(-p[1] * x) - y)
    problem = optbench.black_box_problem("bb_decay", residuals=counted, x0=[1.0, 1.0])
    result = optbench.minimize(problem, "scipy_lm", max_evals=7)  # a Jacobian costs 2 here
    assert result.status == Status.MAX_EVALS and result.nfev == counted.points <= 7

    def broken(p):
        raise RuntimeError("solver diverged")

    failed = optbench.minimize(optbench.black_box_problem("bb_broken", residuals=broken, x0=[1.0]), "scipy_lm")
    assert failed.status == Status.FAILED and "RuntimeError: solver diverged" in failed.message
    plain = optbench.black_box_problem("bb_plain", lambda p: float(np.sum(p**2)), x0=[1.0])
    assert "residuals=r" in optbench.minimize(plain, "scipy_lm").message
    with pytest.raises(OptbenchError, match="residuals must be callable"):
        optbench.black_box_problem("bb_bad", residuals=[1.0], x0=[1.0])


def test_a_run_records_the_time_inside_the_function_and_run_notes_where_callbacks_dominate():
    import time

    import pandas as pd

    from optbench.cli.running import callback_notes

    def slow(x):
        time.sleep(0.002)
        return float(np.sum(x**2))

    result = optbench.minimize(optbench.black_box_problem("bb_slow", slow, x0=[1.0, 1.0]), "nelder_mead", max_evals=20)
    assert result.nfev * 0.002 <= result.metrics["black_box_s"] <= result.time_s
    # 48.4 s a run, 0.5 s of it in the function: the callbacks dominate; 10 s of 12 s do not.
    ran = pd.DataFrame(
        {
            "problem": ["sim", "sim", "sim", "sim"],
            "optimizer": ["ga", "ga", "scipy_nelder_mead", "scipy_nelder_mead"],
            "time_s": [48.4, 48.4, 12.0, 12.0],
            "black_box_s": [0.5, 0.5, 10.0, 10.0],
            "nfev": [100_000, 100_000, 5000, 5000],
        }
    )
    notes = callback_notes(ran).splitlines()
    assert len(notes) == 1 and notes[0].startswith("note: ga on sim spent 47.9 s a run outside the function (479 µs")
    assert "vectorized=True" in notes[0] and callback_notes(ran.drop(columns="black_box_s")) == ""
