"""Pictures of what was learned: fitted curves, decision boundaries, sensitivity and metric plots."""

import json

import jax.numpy as jnp
import matplotlib
import numpy as np
import pandas as pd
import pytest

import optbench
from optbench.analysis import learned
from optbench.analysis.plots import convergence
from optbench.cli import main
from optbench.errors import OptbenchError
from optbench.registry import REGISTRY

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("learned") / "runs.sqlite"
    optbench.run(["linear", "logistic_2d"], ["lm", "lbfgs", "adam[learning_rate=[0.03,0.1]]"], seeds=2, db=path,
                 max_steps=200)  # fmt: skip
    return path


def test_the_fitted_line_is_the_least_squares_line(db):
    runs, _ = optbench.load_results(db)
    fig = learned.fit_figure(runs, "linear")
    lines = {line.get_label().split(" ")[0]: line for line in fig.axes[0].get_lines()}
    x, y = (np.asarray(a) for a in REGISTRY.problem("linear").data)
    slope, intercept = np.polyfit(x, y, 1)  # the closed-form fit, computed independently
    grid = lines["lm"].get_xdata()
    np.testing.assert_allclose(lines["lm"].get_ydata(), slope * grid + intercept, rtol=1e-9, atol=1e-9)
    assert lines["data"].get_xdata().size == x.size


def test_the_boundary_is_where_the_stored_classifier_says_zero(db):
    runs, traces = optbench.load_results(db)
    fig = learned.boundary_figure(runs, traces, "logistic_2d")
    picked = learned.median_runs(runs, "logistic_2d").set_index("config")
    panel = next(ax for ax in fig.axes if ax.get_title().startswith("lbfgs"))
    params = json.loads(picked.loc["lbfgs", "x"])  # the stored JSON, read here without optbench
    contour = next(c for c in panel.collections if type(c).__name__ == "QuadContourSet" and len(c.levels) == 1)
    points = np.concatenate([p.vertices for p in contour.get_paths()])
    logits = points @ np.asarray(params["w"]) + params["b"]
    assert len(points) > 10 and np.abs(logits).max() < 1e-2 * np.abs(params["w"]).sum()
    assert "test accuracy" in panel.get_title()


def test_the_median_run_is_the_lower_middle_of_the_final_losses(db):
    runs, _ = optbench.load_results(db)
    picked = learned.median_runs(runs, "linear").set_index("config")
    mine = runs[(runs["problem"] == "linear") & (runs["optimizer"] == "adam[learning_rate=0.03]")]
    assert picked.loc["adam[learning_rate=0.03]", "fun"] == sorted(mine["fun"])[0]  # 2 seeds: the lower one


def test_stored_parameters_come_back_in_the_problems_structure():
    runs, _ = optbench.run("mlp[hidden=8]", "adam", seeds=1, max_steps=5)
    problem = REGISTRY.problem("mlp[hidden=8]")
    params = learned.restore_params(problem, runs["x"].iloc[0])
    assert [layer["w"].shape for layer in params] == [(64, 8), (8, 10)]
    assert float(problem.value(params)) == pytest.approx(runs["fun"].iloc[0], rel=1e-6)
    with pytest.raises(OptbenchError, match="do not fit"):
        learned.restore_params(REGISTRY.problem("mlp[hidden=8x8]"), runs["x"].iloc[0])
    with pytest.raises(OptbenchError, match="no stored parameters"):
        learned.restore_params(problem, None)  # over MAX_STORED_PARAMS, a run keeps none


def test_sensitivity_plots_the_median_final_loss_per_learning_rate(db):
    runs, traces = optbench.load_results(db)
    fig = learned.sensitivity_figure(runs, traces, "logistic_2d")
    (bars,) = [c for c in fig.axes[0].containers if c.get_label() == "adam"]
    line = bars.lines[0]
    mine = runs[(runs["problem"] == "logistic_2d") & (runs["optimizer_name"] == "adam")]
    expected = mine.groupby(mine["optimizer"].str.extract(r"=([\d.]+)")[0].astype(float))["fun"].median()
    np.testing.assert_allclose(np.asarray(line.get_xdata(), float), expected.index.to_numpy(float))
    np.testing.assert_allclose(np.asarray(line.get_ydata(), float), expected.to_numpy(float))
    assert len(fig.axes) == 2 and fig.axes[1].get_ylabel().startswith("test accuracy")  # logistic_2d records it
    with pytest.raises(OptbenchError, match="numeric hyperparameter 'beta'"):
        learned.sensitivity_figure(runs, traces, "linear", hue="beta")


def test_sensitivity_shows_the_distance_to_a_known_optimum_where_final_losses_all_look_alike():
    # A noisy fit: f_opt 0.25 is the noise floor. Rate 0.01 ends 1e-3 above it, the others at it.
    rates, ends = [0.01, 0.01, 0.1, 0.1, 0.5, 0.5], [0.251, 0.2512, 0.25 + 1e-9, 0.25 + 3e-9, 0.25, 0.25]
    runs = pd.DataFrame(
        {
            "run_id": [f"r{i}" for i in range(6)],
            "problem": "quadratic",
            "optimizer_name": "gd",
            "params": [json.dumps({"learning_rate": r}) for r in rates],
            "status": "max_steps",
            "fun": ends,
            "f_opt": 0.25,
        }
    )
    fig = learned.sensitivity_figure(runs, None, "quadratic")
    (bars,) = fig.axes[0].containers
    ys = np.asarray(bars.lines[0].get_ydata(), float)
    floor = np.finfo(float).eps * 0.25  # below rounding error, floored as convergence plots are
    np.testing.assert_allclose(ys, [1.1e-3, 2e-9, floor], rtol=1e-6)
    assert fig.axes[0].get_ylabel() == "final loss - optimum" and fig.axes[0].get_yscale() == "log"


def test_a_metric_plot_draws_the_recorded_metric(db):
    runs, traces = optbench.load_results(db)
    fig = convergence(runs, traces, "logistic_2d", "steps", metric="test_accuracy")
    assert fig.axes[0].get_yscale() == "linear"  # an accuracy
    (median,) = [ln for ax in fig.axes for ln in ax.get_lines() if ln.get_label().startswith("lbfgs")]
    ids = runs.loc[(runs["problem"] == "logistic_2d") & (runs["optimizer"] == "lbfgs"), "run_id"]
    finals = [traces.loc[traces["run_id"] == r, "test_accuracy"].dropna().iloc[-1] for r in ids]
    ys = median.get_ydata()
    assert ys[np.isfinite(ys)][-1] == pytest.approx(np.median(finals))
    with pytest.raises(OptbenchError, match="recorded 'test_accuracy'; recorded: loss"):
        convergence(runs, traces, "linear", "steps", metric="test_accuracy")


def test_the_cli_draws_each_kind_and_leaves_out_problems_it_does_not_apply_to(db, tmp_path, capsys):
    folder = tmp_path / "plots"
    for kind, drawn in [("fit", ["linear_fit.png"]), ("boundary", ["logistic_2d_boundary.png"])]:
        assert main(["plot", "--db", str(db), "--kind", kind, "--output", str(folder)]) == 0
        assert sorted(p.name for p in folder.iterdir() if kind in p.name) == drawn
    assert "left out: 'linear' has one input; boundary plots draw classifiers of two inputs" in capsys.readouterr().err
    assert main(["plot", "--db", str(db), "--kind", "lr", "--output", str(folder)]) == 0
    assert main(["plot", "--db", str(db), "--kind", "metric", "--x", "epochs", "--output", str(folder)]) == 0
    assert (folder / "logistic_2d_test_accuracy_epochs.png").exists() and not (
        folder / "linear_test_accuracy_epochs.png"
    ).exists()


def test_a_plot_that_does_not_apply_is_a_clear_error_and_writes_nothing(db, tmp_path, capsys):
    out = tmp_path / "b.png"
    assert main(["plot", "--db", str(db), "--kind", "boundary", "-p", "linear", "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert "boundary plots draw classifiers of two inputs" in err and "Traceback" not in err
    assert main(["plot", "--db", str(db), "--kind", "metric", "--metric", "f1", "--output", str(tmp_path)]) == 2
    assert "recorded 'f1'" in capsys.readouterr().err
    assert not out.exists() and not list(tmp_path.glob("*.png"))


def test_pictures_need_a_model():
    with pytest.raises(OptbenchError, match="no model to draw"):
        learned._problem("zdt1", "fit plots draw a curve fit")  # a multi-objective test function
    assert optbench.Problem("bowl", loss=lambda p: jnp.sum(p**2), init=jnp.ones(2)).predict is None


def test_population_history_gives_every_generation_with_its_own_losses():
    history = optbench.population_history("quadratic", "ga[pop_size=20]", 6, seed=1)
    problem = optbench.make_problem("quadratic")
    assert sorted(set(history["generation"])) == list(range(7)) and len(history) == 7 * 20
    lower, upper = (np.array(list(b.values())) for b in problem.search_box)
    xs = history[["x0", "x1", "x2"]].to_numpy()
    assert ((xs >= lower) & (xs <= upper)).all()
    params = {"a": jnp.asarray(xs[:, 0]), "b": jnp.asarray(xs[:, 1]), "c": jnp.asarray(xs[:, 2])}
    x, y = problem.data
    direct = np.mean((params["a"][:, None] * x**2 + params["b"][:, None] * x + params["c"][:, None] - y) ** 2, axis=1)
    np.testing.assert_allclose(history["f"], direct, rtol=1e-10)  # the loss, computed here by hand
    best = history.groupby("generation")["f"].min().to_numpy()
    assert (np.diff(best) <= 0).all() and best[-1] < best[0]  # elitism keeps the best
    pareto = optbench.population_history("zdt1[n=5]", "nsga2[pop_size=12]", 1)
    assert {"f1", "f2"} <= set(pareto.columns) and len(pareto) == 24
    with pytest.raises(OptbenchError, match="keeps no population"):
        optbench.population_history("quadratic", "adam", 2)


def test_a_population_figure_draws_each_generation_asked_for():
    history = optbench.population_history("quadratic", "ga[pop_size=10]", 4)
    fig = learned.population_figure(history, [0, 4], x="x0", y="x1", best=(1.5, -2.0))
    panels = [ax for ax in fig.axes if ax.get_title().startswith("generation")]
    assert [ax.get_title() for ax in panels] == ["generation 0", "generation 4"]
    last = history[history["generation"] == 4]
    np.testing.assert_allclose(panels[1].collections[0].get_offsets(), last[["x0", "x1"]].to_numpy())
    with pytest.raises(OptbenchError, match="generations 0..4"):
        learned.population_figure(history, [9])


def test_a_diverged_learning_rate_is_a_cross_on_the_top_edge_not_a_median():
    # Gradient descent on the parabola is stable below 2/L, L ~ 2.2 (the loss's largest curvature).
    runs, traces = optbench.run("quadratic", "gd[learning_rate=[0.5,1.5]]", seeds=2, max_steps=100)
    assert set(runs.loc[runs["optimizer"] == "gd[learning_rate=1.5]", "status"]) == {"diverged"}
    fig = learned.sensitivity_figure(runs, traces, "quadratic")
    (bars,) = [c for c in fig.axes[0].containers if c.get_label() == "gd"]
    assert list(bars.lines[0].get_xdata()) == [0.5]  # the median line leaves the diverged rate out
    (cross,) = [ln for ln in fig.axes[0].get_lines() if ln.get_label() == "_diverged gd"]
    mine = runs[runs["optimizer"] == "gd[learning_rate=0.5]"]
    converged = (mine["fun"] - mine["f_opt"]).max()  # the distance to the optimum, as plotted
    assert list(cross.get_xdata()) == [1.5] and cross.get_ydata()[0] == pytest.approx(10 * converged)
