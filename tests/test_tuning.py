"""Tuned comparisons: trials drawn from each optimizer's search space, the best of each
study selected on the training loss, the selection scored on fresh seeds."""

import json
import sys

import jax.numpy as jnp
import numpy as np
import pytest
from helpers import plugin_dir, refused, run_cli

import optbench
from optbench.cli import main
from optbench.errors import PluginError
from optbench.registry import REGISTRY
from optbench.spec import parse_spec
from optbench.tuning.space import Range, draw
from optbench.tuning.study import FINAL_SEEDS_FROM, trial_specs

MU, L = 1.0, 10.0  # the bowl's smallest and largest curvature
EIGENVALUES = np.linspace(MU, L, 5)


@optbench.register_problem("tuning_bowl")
def tuning_bowl():
    """0.5 x' diag(mu..L) x from all ones: gradient descent's best fixed rate is 2 / (L + mu)."""
    return optbench.Problem("tuning_bowl", lambda x: 0.5 * jnp.sum(EIGENVALUES * x**2), init=np.ones(5), f_opt=0.0)


def test_tuning_gradient_descent_finds_the_rate_of_its_contraction_theory():
    # After T steps the error in eigendirection i is (1 - lr lambda_i)^T: the worst factor,
    # max(|1 - lr mu|, |1 - lr L|), is smallest at 2 / (L + mu), so the selected trial is
    # one of the two trials on either side of it: within one grid resolution.
    tuned = optbench.tune("tuning_bowl", "gd", trials=32, seeds=1, max_steps=100, progress=False)
    rates = sorted(parse_spec(spec).params["learning_rate"] for spec in trial_specs("gd", 32, 0))
    best = 2 / (L + MU)
    below, above = max(r for r in rates if r < best), min(r for r in rates if r > best)
    assert tuned.table.loc[0, "learning_rate"] in (below, above)
    assert above / below < 1.6  # the grid is fine enough for the check to mean something
    # The selected rate (0.142) contracts by 0.86 a step, the default (0.1) by 0.9: after
    # 100 steps its loss is 0.86^200 / 0.9^200, about 1e-4 of the default's.
    assert tuned.table.loc[0, "tuned_fun"] < 1e-3 * tuned.table.loc[0, "default_fun"]


@optbench.register_problem("heavy_ball_bowl")
def heavy_ball_bowl():
    """0.5 x' diag(1..100) x: heavy-ball momentum's rates (Polyak 1964) are known in closed form."""
    curvatures = np.linspace(1.0, 100.0, 5)
    return optbench.Problem("heavy_ball_bowl", lambda x: 0.5 * jnp.sum(curvatures * x**2), init=np.ones(5), f_opt=0.0)


def test_tuning_momentum_selects_the_trial_of_the_fastest_heavy_ball_rate():
    # Heavy ball x+ = x - a g + b (x - x-) contracts eigendirection lambda by the largest root
    # of z^2 - (1 + b - a lambda) z + b. Its best rate over 1..100 is (10 - 1) / (10 + 1) =
    # 0.818 (a = 4 / 11^2, b = (9 / 11)^2), against gradient descent's best, 99 / 101 = 0.980.
    curvatures = np.linspace(1.0, 100.0, 5)

    def rate(a, b):
        return max(max(abs(np.roots([1.0, -(1.0 + b - a * c), b]))) for c in curvatures)

    tuned = optbench.tune("heavy_ball_bowl", "momentum", trials=64, seeds=1, max_steps=300, progress=False)
    row = tuned.table.iloc[0]
    rates = {rate(p["learning_rate"], p["beta"]): p for p in map(lambda s: parse_spec(s).params,
                                                                  trial_specs("momentum", 64, 0))}  # fmt: skip
    fastest = rates[min(rates)]
    assert (row["learning_rate"], row["beta"]) == (fastest["learning_rate"], fastest["beta"])
    assert 9 / 11 <= min(rates) < 99 / 101  # faster than gradient descent can be, slower than the optimum


def test_final_seeds_are_fresh_and_the_table_is_the_median_over_studies_of_its_runs():
    tuned = optbench.tune(
        ["quadratic"], ["adam", "nelder_mead"], trials=5, studies=3, seeds=3, max_steps=60, progress=False
    )
    runs = tuned.runs
    trials = runs[runs["role"] == "trial"]
    finals = runs[runs["role"] != "trial"]
    assert set(trials["seed"]) == {0, 1, 2}  # study k tunes on seed k
    assert set(finals["seed"]) == {FINAL_SEEDS_FROM + i for i in range(3)}
    adam = tuned.table.set_index("optimizer").loc["adam"]
    mine = runs[runs["tuned_optimizer"] == "adam"]
    per_study = mine[mine["role"] == "tuned"].groupby("study")["fun"].median()  # by hand, from the stored runs
    assert len(per_study) == 3
    assert adam["tuned_fun"] == per_study.median()
    assert (adam["tuned_fun_min"], adam["tuned_fun_max"]) == (per_study.min(), per_study.max())
    assert adam["default_fun"] == mine[mine["role"] == "default"]["fun"].median()
    spent = mine[mine["role"] == "trial"]
    assert adam["tuning_evals"] == spent["nfev"].sum() and len(spent) == 15 and adam["trials"] == 5
    # The median study's selection is the one shown, and it is one of its study's trials.
    median_study = per_study.sort_values().index[1]
    chosen = mine[(mine["role"] == "tuned") & (mine["study"] == median_study)]["optimizer"].iloc[0]
    assert chosen in set(mine[(mine["role"] == "trial") & (mine["study"] == median_study)]["optimizer"])
    assert parse_spec(chosen).params["learning_rate"] == adam["learning_rate"]
    simplex = tuned.table.set_index("optimizer").loc["nelder_mead"]
    assert simplex["trials"] == 1 and simplex["note"] == "nothing to tune: its defaults"


def test_tuned_adam_lies_near_the_best_rate_of_a_fine_sweep():
    sweep = np.geomspace(1e-5, 1.0, 61)  # 12 points a decade
    grid = "adam[b1=0.9,learning_rate=[" + ",".join(repr(float(r)) for r in sweep) + "]]"
    runs, _ = optbench.run("logistic_2d", grid, max_steps=150, progress=False)
    swept = runs.assign(rate=[json.loads(params)["learning_rate"] for params in runs["params"]])
    assert len(swept) == 61
    best = swept.loc[swept["fun"].idxmin(), "rate"]
    tuned = optbench.tune("logistic_2d", "adam[b1=0.9]", trials=16, seeds=1, max_steps=150, progress=False)
    rates = np.log10(sorted(parse_spec(s).params["learning_rate"] for s in trial_specs("adam[b1=0.9]", 16, 0)))
    spacing = np.diff(rates).max()  # the trials' coarsest gap, in decades
    assert abs(np.log10(tuned.table.loc[0, "learning_rate"]) - np.log10(best)) <= spacing


def _held_out(name, flip):
    """A logistic regression on one training set, with a test set whose labels ``flip``."""
    classification = sys.modules[REGISTRY.get("problem", "logistic").factory.__module__]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 2))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(float)
    test_y = 1.0 - y[:20] if flip else y[:20]
    init = lambda key: {"w": np.zeros(2), "b": np.zeros(())}
    return classification.classifier(
        name, classification._linear_logits, classification._binary_metrics, init, (x, y, x[:20], test_y),
        dtype="float64", description="a test split that says the opposite",
    )  # fmt: skip


optbench.register_problem("held_out_agrees")(lambda: _held_out("held_out_agrees", False))
optbench.register_problem("held_out_disagrees")(lambda: _held_out("held_out_disagrees", True))


def test_selection_never_looks_at_the_test_split():
    tuned = optbench.tune(["held_out_agrees", "held_out_disagrees"], "adam", trials=12, seeds=2, max_steps=80,
                          progress=False)  # fmt: skip
    table = tuned.table.set_index("problem")
    assert table.loc["held_out_agrees", "learning_rate"] == table.loc["held_out_disagrees", "learning_rate"]
    assert table.loc["held_out_agrees", "b1"] == table.loc["held_out_disagrees", "b1"]
    accuracy = tuned.runs[tuned.runs["role"] == "tuned"].groupby("problem")["test_accuracy"].median()
    assert accuracy["held_out_agrees"] > 0.9 > 0.1 > accuracy["held_out_disagrees"]  # the test split did differ


def test_a_study_draws_the_same_trials_and_an_interrupted_one_resumes_to_the_same_table(tmp_path):
    db = tmp_path / "tune.sqlite"
    assert trial_specs("momentum", 7, 2) == trial_specs("momentum", 7, 2) != trial_specs("momentum", 7, 3)
    first = optbench.tune("quadratic", "momentum", trials=6, seeds=2, max_steps=40, db=db, progress=False)
    stored = len(optbench.load_results(db).runs)
    again = optbench.tune("quadratic", "momentum", trials=6, seeds=2, max_steps=40, db=db, progress=False)
    assert len(optbench.load_results(db).runs) == stored  # every run was stored: nothing ran again
    assert first.table.drop(columns=["tuning_time_s"]).equals(again.table.drop(columns=["tuning_time_s"]))


def test_a_spec_fixes_what_it_sets_and_ranges_draw_within_their_scale():
    specs = [parse_spec(s).params for s in trial_specs("adam[b1=0.8]", 9, 0)]
    assert all(p["b1"] == 0.8 for p in specs) and len({p["learning_rate"] for p in specs}) == 9
    points = draw({"lr": Range(1e-4, 1.0), "beta": Range(0.5, 0.999, "log1m"), "w": Range(-1.0, 1.0, "linear")}, 256, 0)
    lr = np.log10([p["lr"] for p in points])
    assert lr.min() >= -4 and lr.max() <= 0 and abs(np.median(lr) + 2) < 0.1  # uniform in decades
    one_minus = np.log10([1 - p["beta"] for p in points])
    assert abs(np.median(one_minus) - np.log10(np.sqrt(0.5 * 0.001))) < 0.1
    assert abs(np.mean([p["w"] for p in points])) < 0.05


def test_describe_shows_the_search_space_and_a_plugin_declares_its_own(capsys):
    assert main(["describe", "adam"]) == 0
    out = capsys.readouterr().out
    assert "learning_rate: 1e-05 to 1, log-uniform" in out and "b1: 0.5 to 0.99, log-uniform in 1 - x" in out
    assert main(["describe", "nelder_mead"]) == 0
    assert "nothing to tune" in capsys.readouterr().out

    @optbench.register_optimizer("tunable_sgd", space={"learning_rate": optbench.Range(0.01, 1.0)})
    def tunable_sgd(learning_rate: float = 0.1):
        import optax

        return optax.sgd(learning_rate)

    assert len({parse_spec(s).params["learning_rate"] for s in trial_specs("tunable_sgd", 4, 0)}) == 4
    with pytest.raises(PluginError, match="not a float hyperparameter"):
        optbench.register_optimizer("badly_tuned", space={"steps": optbench.Range(1, 10)})(lambda steps=3: None)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-p", "quadratic", "-o", "gd[learning_rate=[0.1,0.2]]"], "not a grid"),
        (["-p", "quadratic", "-o", "gd", "--trials", "0"], "at least one trial"),
        (["-p", "quadratic", "-o", "gd", "--seeds", "0"], "at least one fresh seed"),
        (["-p", "quadratic", "-o", "gd", "--trials", "1000000000000"], "more than optbench's limit"),
        (["-p", "quadratic", "-o", "adamm"], "unknown optimizer"),
        (["-p", "quadratic"], "at least one -p PROBLEM and one -o OPTIMIZER"),
    ],
)
def test_bad_tuning_input_is_one_message_and_exit_2_before_any_run(tmp_path, capsys, args, message):
    db = tmp_path / "tune.sqlite"
    refused(["tune", *args, "--db", str(db)], capsys, message)
    assert not db.exists()


def test_the_tuned_view_reads_the_same_table_back_from_the_database(tmp_path, capsys):
    db = str(tmp_path / "tune.sqlite")
    tune = ["tune", "-p", "quadratic", "-o", "gd", "-o", "lm", "--trials", "4", "--max-steps", "30", "--seeds", "2"]
    assert main([*tune, "--db", db, "--no-progress", "--format", "csv"]) == 0
    printed = capsys.readouterr().out
    assert main(["table", "--view", "tuned", "--db", db, "--format", "csv"]) == 0
    stored = capsys.readouterr().out
    assert stored == printed and printed.splitlines()[0].split(",")[:5] == [
        "problem", "optimizer", "tuned_fun", "default_fun", "learning_rate",
    ]  # fmt: skip
    assert main(["run", "-p", "linear", "-o", "gd", "--max-steps", "5", "--db", db, "--no-progress"]) == 0
    capsys.readouterr()
    refused(["table", "--view", "tuned", "--db", db, "-p", "linear"], capsys, "belongs to a tuning")


def test_a_suite_or_the_command_line_narrows_a_range(tmp_path, capsys):
    suite = tmp_path / "tuned.toml"
    suite.write_text(
        'problems = ["quadratic"]\noptimizers = ["gd", "adam"]\n[budget]\nmax_steps = 20\n'
        "[tuning]\ntrials = 3\nseeds = 1\n[tuning.space.gd]\nlearning_rate = [0.01, 0.02]\n"
    )
    db = str(tmp_path / "tune.sqlite")
    cli = ["tune", str(suite), "--db", db, "--no-progress", "--format", "csv"]
    assert main([*cli, "--space", "adam.b1=0.8:0.85:linear"]) == 0
    capsys.readouterr()
    runs = optbench.load_results(db).runs
    trials = runs[runs["seed"] == 0].assign(params=lambda r: r["params"].map(json.loads))
    gd = [p["learning_rate"] for o, p in zip(trials["optimizer_name"], trials["params"]) if o == "gd"]
    b1 = [p["b1"] for o, p in zip(trials["optimizer_name"], trials["params"]) if o == "adam" and p["b1"] != 0.9]
    assert len(gd) == 3 and all(0.01 <= r <= 0.02 for r in gd)  # the suite's range
    assert len(b1) == 3 and all(0.8 <= b <= 0.85 for b in b1)  # the command line's, on its scale
    refused([*cli, "--space", "lion.learning_rate=0.1:1"], capsys, "which this tuning does not tune")
    refused([*cli, "--space", "adam.eps=1:0.1"], capsys, "low < high")
    refused([*cli, "--space", "adam.steps=1:2"], capsys, "no numeric hyperparameter 'steps'")
    refused([*cli, "--space", "adam=1:2"], capsys, "OPTIMIZER.PARAM=LOW:HIGH")


def test_the_sensitivity_figure_stars_each_study_selection_and_crosses_what_diverged(tmp_path, capsys):
    import matplotlib

    matplotlib.use("Agg")
    from optbench.analysis.tuning_plots import sensitivity_figure
    from optbench.store import ResultStore
    from optbench.tuning.study import with_roles

    db = tmp_path / "tune.sqlite"
    tuned = optbench.tune("tuning_bowl", "gd", trials=12, studies=2, seeds=1, max_steps=60, db=db, progress=False)
    runs = tuned.runs
    figure = sensitivity_figure(runs, "tuning_bowl")
    ax = figure.axes[0]
    stars = sorted(x for line in ax.get_lines() if line.get_marker() == "*" for x in line.get_xdata())
    selected = sorted(json.loads(p)["learning_rate"] for p in runs[runs["role"] == "tuned"]["params"])
    assert stars == selected and len(stars) == 2
    crosses = sum(len(line.get_xdata()) for line in ax.get_lines() if line.get_marker() == "x")
    trials = runs[runs["role"] == "trial"]
    assert crosses == (trials["status"] == "diverged").sum() > 0  # rates past 2 / L = 0.2 diverge
    with ResultStore(db, create=False) as store:
        assert len(with_roles(store.runs(), store.tuning())) == len(runs)  # what the plot command reads
    assert main(["plot", "--kind", "tuning", "--db", str(db), "--output", str(tmp_path / "plots")]) == 0
    assert (tmp_path / "plots" / "tuning_bowl_tuning.png").stat().st_size > 0


def test_the_algoperf_rule_selects_per_study_the_fastest_trial_to_the_target(capsys, tmp_path):
    tuned = optbench.tune("tuning_bowl", "gd", rule="algoperf", trials=6, seeds=2, max_steps=400, progress=False)
    row = tuned.table.iloc[0]
    assert (row["rule"], row["studies"], row["trials"]) == ("algoperf", 5, 6)  # AlgoPerf's 5 studies
    runs = tuned.runs
    for study, trials in runs[runs["role"] == "trial"].groupby("study"):
        reached = trials[np.isfinite(trials["time_to_target"].astype(float))]
        fastest = reached.loc[reached["time_to_target"].astype(float).idxmin(), "params"]
        selected = runs[(runs["role"] == "tuned") & (runs["study"] == study)]["params"].iloc[0]
        assert json.loads(fastest) == json.loads(selected)
    per_study = (
        runs[runs["role"] == "tuned"].groupby("study")["time_to_target"].median().astype(float)
    )  # by hand: every final reached the target here
    assert row["tuned_time_to_target"] == per_study.median() and np.isfinite(row["tuned_time_to_target"])
    db = str(tmp_path / "tune.sqlite")
    refused(["tune", "-p", "xor", "-o", "gd", "--rule", "algoperf", "--db", db], capsys, "has none: give --target")


def test_the_report_shows_the_tuning_and_its_sensitivity_figure(tmp_path, capsys):
    db = tmp_path / "tune.sqlite"
    optbench.tune("tuning_bowl", "gd", trials=5, seeds=1, max_steps=40, db=db, progress=False)
    out = tmp_path / "report.html"
    assert main(["report", "--db", str(db), "--output", str(out)]) == 0
    page = out.read_text()
    assert '<section id="tuning">' in page and '<figure id="tuning-tuning_bowl">' in page
    assert page.count("tuned_fun") >= 1 and "learning_rate" in page


def test_tuned_views_compare_each_optimizer_tuned_beside_its_defaults(tmp_path, capsys):
    import io

    import pandas as pd

    db = tmp_path / "tune.sqlite"
    tuned = optbench.tune(["quadratic"], ["gd", "adam"], trials=4, studies=3, seeds=2, max_steps=40, db=db,
                          progress=False)  # fmt: skip
    assert main(["table", "--tuned", "--db", str(db), "--format", "csv"]) == 0
    summary = pd.read_csv(io.StringIO(capsys.readouterr().out)).set_index("optimizer")
    assert sorted(summary.index) == ["adam default", "adam tuned", "gd default", "gd tuned"]
    assert (summary["n_runs"] == 2).all()  # the median study's selection on each fresh seed, not every study's
    table = tuned.table.set_index("optimizer")
    for name in ("gd", "adam"):
        assert summary.loc[f"{name} tuned", "fun_median"] == pytest.approx(table.loc[name, "tuned_fun"], rel=1e-12)
        assert summary.loc[f"{name} default", "fun_median"] == pytest.approx(table.loc[name, "default_fun"], rel=1e-12)
    assert main(["table", "--tuned", "--view", "profile", "--db", str(db)]) == 0
    assert "gd tuned" in capsys.readouterr().out


def test_a_validation_split_decides_the_selection_where_a_problem_has_one():
    plain = REGISTRY.problem("logistic")
    held = REGISTRY.problem("logistic[validation_fraction=0.2]")
    assert len(held.data[1]) == len(plain.data[1]) - round(0.2 * len(plain.data[1]))  # held out of training
    tuned = optbench.tune("logistic[validation_fraction=0.2]", "adam", trials=8, seeds=1, max_steps=100, progress=False)
    trials = tuned.runs[tuned.runs["role"] == "trial"]
    assert trials["val_loss"].notna().all()
    by_validation = json.loads(trials.loc[trials["val_loss"].idxmin(), "params"])
    assert tuned.table.loc[0, "learning_rate"] == by_validation["learning_rate"]


def test_two_tunings_in_one_database_are_never_pooled(tmp_path, capsys):
    import io

    import pandas as pd

    db = tmp_path / "tune.sqlite"
    for trials in (3, 5):  # the second reuses the first's three trials (the same Halton prefix) and adds two
        optbench.tune("quadratic", "gd", trials=trials, seeds=1, max_steps=30, db=db, progress=False)
    assert main(["table", "--view", "tuned", "--db", str(db), "--format", "csv"]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert sorted(table["trials"]) == [3, 5]
    assert main(["table", "--tuned", "--db", str(db), "--format", "csv"]) == 0
    summary = pd.read_csv(io.StringIO(capsys.readouterr().out))
    # Both selected the same configuration, whose run on the fresh seed is one run: shown once.
    assert (summary["n_runs"] == 1).all() and summary["optimizer"].is_unique


def test_integer_and_conditional_ranges_tune_a_population_and_the_operator_in_use():
    specs = [parse_spec(s).params for s in trial_specs("ga", 16, 0)]
    sizes = [p["pop_size"] for p in specs]
    assert all(isinstance(n, int) and 20 <= n <= 200 for n in sizes) and len(set(sizes)) > 10
    assert all("eta_m" in p and "sigma" not in p and "blend_alpha" not in p for p in specs)  # polynomial, sbx
    gaussian = [parse_spec(s).params for s in trial_specs("ga[mutation=gaussian,crossover=blend]", 16, 0)]
    assert all(0.01 <= p["sigma"] <= 0.5 and 0.1 <= p["blend_alpha"] <= 1 and "eta_m" not in p for p in gaussian)
    narrowed = trial_specs("nsga2", 8, 1, {"nsga2": {"pop_size": (10, 12, "linear")}})
    assert {parse_spec(s).params["pop_size"] for s in narrowed} == {10, 11, 12}
    with pytest.raises(optbench.SpecError, match="whole numbers"):
        trial_specs("ga", 2, 0, {"ga": {"pop_size": (10.2, 10.8, None)}})
    with pytest.raises(optbench.SpecError, match="no numeric hyperparameter 'crossover'"):
        trial_specs("ga", 2, 0, {"ga": {"crossover": (1, 2, None)}})

    @optbench.register_optimizer("tunable_steps", space={"inner": optbench.Range(1, 4, "linear", integer=True)})
    def tunable_steps(inner: int = 2, learning_rate: float = 0.1):
        import optax

        return optax.sgd(learning_rate * inner)

    assert {parse_spec(s).params["inner"] for s in trial_specs("tunable_steps", 12, 0)} == {1, 2, 3, 4}


def test_a_tuned_population_runs_within_the_evaluation_budget(tmp_path):
    db = tmp_path / "t.sqlite"
    tuned = optbench.tune("sinusoidal_wave", "ga", trials=3, seeds=2, max_evals=600, db=db, progress=False)
    runs = optbench.load_results(tmp_path / "t.sqlite").runs
    assert len(runs) == 3 + 2 + 2
    sizes = [parse_spec(label).params.get("pop_size", 100) for label in runs["optimizer"]]
    assert all(600 <= n < 600 + size for n, size in zip(runs["nfev"], sizes))  # a generation ends where it crosses
    size = tuned.table["pop_size"].iloc[0]
    assert float(size).is_integer() and 20 <= size <= 200
    assert sizes.count(int(size)) == 1 + 2  # its trial and its finals; the defaults are 100


def test_a_tuning_killed_midway_resumes_to_the_table_of_one_never_interrupted(tmp_path):
    marker = tmp_path / "killed"
    plugins = plugin_dir(
        tmp_path,
        f"""
        import os
        import jax
        import jax.numpy as jnp
        import numpy as np
        import optbench

        calls = [0]

        def tick(_):
            calls[0] += 1
            if calls[0] == 400 and not os.path.exists({str(marker)!r}):
                open({str(marker)!r}, "w").close()
                os._exit(9)  # the process dies mid-study, as with a power cut

        def loss(x):
            jax.debug.callback(tick, x[0])
            return 0.5 * jnp.sum(jnp.linspace(1.0, 10.0, 4) * x**2)

        @optbench.register_problem("killing_bowl")
        def killing_bowl():
            return optbench.Problem("killing_bowl", loss, init=np.ones(4), f_opt=0.0)
        """,
    )
    args = ["tune", "-p", "killing_bowl", "-o", "gd", "-o", "momentum", "--trials", "6", "--seeds", "2"]
    args += ["--max-steps", "30", "--plugins", str(plugins), "--format", "csv"]
    killed = run_cli(*args, "--db", str(tmp_path / "resumed.sqlite"))
    assert killed.returncode == 9 and marker.exists()
    partial = len(optbench.load_results(tmp_path / "resumed.sqlite").runs)
    resumed = run_cli(*args, "--db", str(tmp_path / "resumed.sqlite"))
    whole = run_cli(*args, "--db", str(tmp_path / "whole.sqlite"))
    assert resumed.returncode == whole.returncode == 0, resumed.stderr + whole.stderr
    total = len(optbench.load_results(tmp_path / "whole.sqlite").runs)
    assert 0 < partial < total == len(optbench.load_results(tmp_path / "resumed.sqlite").runs)

    def table(out: str) -> list[list[str]]:  # the tuned table, less the wall times
        rows = [line.split(",") for line in out.strip().splitlines()]
        keep = [i for i, name in enumerate(rows[0]) if "time" not in name]
        return [[row[i] for i in keep] for row in rows]

    assert table(resumed.stdout) == table(whole.stdout)
