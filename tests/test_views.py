"""Tables, plots and views as a user reads them: comparable runs only, successes shown, a
terminal-sized table, filters that know the defaults, the same flags everywhere."""

import io
import json

import jax
import numpy as np
import pandas as pd
import pytest
from helpers import plugin_dir, run_cli

import optbench
from optbench.analysis.fixed_target import ert
from optbench.analysis.plots import convergence, default_axis
from optbench.analysis.profiles import instance_costs, profile_score
from optbench.analysis.selection import filter_runs, with_configs
from optbench.analysis.targets import hitting_times
from optbench.analysis.views import Comparison, Options
from optbench.cli import main
from optbench.errors import OptbenchError


@pytest.fixture(scope="module")
def comparison(tmp_path_factory):
    """Curve fits with a known optimum, a network without one, two budgets for gd."""
    db = tmp_path_factory.mktemp("views") / "runs.sqlite"
    optbench.run(
        ["linear", "quadratic", "quadratic[n=50]", "xor"],
        ["gd", "adam[learning_rate=[0.1,0.01]]", "lm", "scipy_bfgs"],
        seeds=3,
        max_steps=150,
        db=db,
    )
    optbench.run(["linear"], ["gd"], seeds=2, max_steps=50, db=db)
    return db


def _table(db, *args):
    code = main(["table", "--db", str(db), *args])
    assert code == 0
    return code


def test_runs_of_different_budgets_are_separate_rows_with_their_budget(comparison, capsys):
    _table(comparison, "-p", "linear", "-o", "gd", "--format", "csv")
    table = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert sorted(zip(table["optimizer"], table["n_runs"])) == [("gd (150 steps)", 3), ("gd (50 steps)", 2)]
    _table(comparison, "-p", "linear", "-o", "gd")
    out = capsys.readouterr().out
    assert "| budget" in out and "150 steps" in out and "50 steps" in out


def test_terminal_summary_fits_120_columns_and_shows_successes(comparison, capsys):
    _table(comparison)
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 120
    header = out.splitlines()[0]
    assert "| ok " in header and "| reached " in header
    runs, _ = optbench.load_results(comparison)
    lm = runs[(runs["problem"] == "quadratic") & (runs["optimizer"] == "lm")]
    row = next(line for line in out.splitlines() if line.startswith("| quadratic ") and "| lm " in line)
    assert f"| {int(lm['success'].sum())}/{len(lm)} " in row
    assert "target: the budget's target loss when given, else f_opt + 1e-6*|f_opt| + 1e-12" in out


def test_csv_keeps_every_column_and_the_success_target(comparison, capsys):
    _table(comparison, "--format", "csv")
    header = capsys.readouterr().out.splitlines()[0].split(",")
    for column in ("statuses", "n_success", "target", "fun_q25", "fun_q75", "compile_s_median", "budget"):
        assert column in header


def test_filters_match_specs_with_explicit_defaults(comparison):
    runs, _ = optbench.load_results(comparison)
    adam = filter_runs(runs, optimizers=["adam[learning_rate=0.01]"])
    assert set(adam["optimizer"]) == {"adam"}  # 0.01 is adam's default
    assert set(filter_runs(runs, problems=["quadratic[n=100]"])["problem"]) == {"quadratic"}
    assert set(filter_runs(runs, problems=["quadratic"])["problem"]) == {"quadratic", "quadratic[n=50]"}
    grid = filter_runs(runs, optimizers=["adam[learning_rate=[0.1,0.01]]"])
    assert set(grid["optimizer"]) == {"adam", "adam[learning_rate=0.1]"}
    with pytest.raises(OptbenchError, match=r"'adam\[learning_rate=0.5\]' matches no stored run"):
        filter_runs(runs, optimizers=["adam", "adam[learning_rate=0.5]"])  # each filter must match something


def test_a_plot_of_one_problem_takes_the_spec_named_exactly(comparison, tmp_path, capsys):
    image = tmp_path / "q.png"
    assert main(["plot", "--db", str(comparison), "--problem", "quadratic", "--output", str(image)]) == 0
    assert image.read_bytes()[:4] == b"\x89PNG"
    assert (
        main(["plot", "--db", str(comparison), "-p", "linear", "-p", "xor", "--output", str(tmp_path / "x.png")]) == 2
    )
    err = capsys.readouterr().err
    assert "2 problems match (linear, xor)" in err and "--output" in err


def test_o_means_optimizer_in_every_command(comparison, tmp_path, capsys):
    folder = tmp_path / "plots"
    assert main(["plot", "--db", str(comparison), "-o", "lm", "--output", str(folder)]) == 0
    assert sorted(p.name for p in folder.iterdir()) == [
        "linear_steps.png",
        "quadratic_n_50_steps.png",
        "quadratic_steps.png",
    ]  # lm skipped xor: nothing to draw there
    assert main(["plot", "--db", str(comparison), "-o", str(tmp_path / "adam.png")]) == 2
    assert "-o means --optimizer in every command" in capsys.readouterr().err
    assert not (tmp_path / "adam").exists() and not (tmp_path / "adam.png").exists()


def test_every_configuration_gets_its_own_style_and_many_are_drawn_in_panels():
    rows, traces = [], []
    names = [f"gd[learning_rate={r}]" for r in range(8)] + [f"lm[ftol={r}]" for r in range(5)] + ["ga"] * 3
    for i, name in enumerate(dict.fromkeys(names)):
        rows.append(
            {"run_id": f"r{i}", "problem": "p", "optimizer": name, "optimizer_name": name.split("[")[0],
             "status": "max_steps", "f_opt": 0.0, "budget": "{}", "params": "{}"}
        )  # fmt: skip
        traces += [{"run_id": f"r{i}", "step": s, "nfev": s + 1, "loss": (i + 1) / (s + 1)} for s in range(5)]
    runs = pd.DataFrame(rows)
    fig = convergence(runs, pd.DataFrame(traces), "p")
    titled = [ax for ax in fig.axes if ax.get_visible()]
    assert sorted(ax.get_title() for ax in titled) == ["evolutionary", "first_order", "least_squares"]
    for ax in titled:
        styles = [(line.get_color(), line.get_linestyle(), line.get_marker()) for line in ax.get_legend().get_lines()]
        assert len(set(styles)) == len(styles)
    assert sum(len(ax.get_legend().get_lines()) for ax in titled) == 14


def test_log_axes_are_labelled_in_plain_text_with_matplotlibs_own_ticks():
    import matplotlib.pyplot as plt

    from optbench.analysis.tick_labels import plain, plain_powers

    assert plain(r"$\mathdefault{10^{-3}}$") == "10⁻³"
    assert plain(r"$\mathdefault{2\times10^{\minus17}}$") == "2×10⁻¹⁷"
    assert plain(r"$\mathdefault{0}$") == "0" and plain("0.5") == "0.5"
    fig, (ax, other) = plt.subplots(1, 2)
    ax.set_yscale("log")
    ax.set_ylim(2e-3, 8e-3)  # under a decade: matplotlib labels minor ticks too
    other.set_xscale("log", base=2)
    other.set_xlim(1, 40)
    plain_powers(fig)
    fig.canvas.draw()
    labels = lambda axis, minor=False: [t.get_text() for t in axis.get_ticklabels(minor=minor) if t.get_text()]
    assert "10⁻²" in labels(ax.yaxis) and "3×10⁻³" in labels(ax.yaxis, minor=True)
    assert labels(other.xaxis) == ["2⁻²", "2⁰", "2²", "2⁴", "2⁶"]
    assert not any("$" in label for axis in (ax.yaxis, other.xaxis) for label in labels(axis) + labels(axis, True))
    plt.close(fig)


def test_the_default_x_axis_is_evaluations_when_step_costs_differ():
    runs = pd.DataFrame(
        {"optimizer": ["gd", "ga"], "status": ["max_steps"] * 2, "nfev": [100, 10_100], "nit": [100, 100]}
    )
    assert default_axis(runs) == "evals"
    assert default_axis(runs[runs["optimizer"] == "gd"]) == "steps"


def test_library_and_native_traces_start_at_the_initial_loss(comparison):
    runs, traces = optbench.load_results(comparison)
    mine = runs[(runs["problem"] == "quadratic") & (runs["seed"] == 0)].set_index("optimizer")["run_id"]
    native = traces[traces["run_id"] == mine["gd"]]
    library = traces[traces["run_id"] == mine["scipy_bfgs"]]
    assert library["step"].iloc[0] == 0 and (library["step"] == 0).sum() == 1  # only the starting point
    assert library["loss"].iloc[0] == pytest.approx(native["loss"].iloc[0], rel=1e-12)
    assert library["step"].is_monotonic_increasing


def test_listing_problems_builds_none_and_describe_shows_parameters(tmp_path):
    plugins = plugin_dir(
        tmp_path,
        '''
        import optbench

        @optbench.register_problem("never_built")
        def never_built(size: int = 3, scale: float = 2.0):
            """A problem whose factory fails: listing must not call it."""
            raise RuntimeError("built")
        ''',
    )
    listed = run_cli("list", "problems", "--plugins", str(plugins))
    assert listed.returncode == 0 and "never_built" in listed.stdout and "factory fails" in listed.stdout
    described = run_cli("describe", "never_built", "--plugins", str(plugins))
    assert described.returncode == 2 and "built" in described.stderr and "Traceback" not in described.stderr
    quadratic = run_cli("describe", "quadratic")
    assert quadratic.returncode == 0
    for text in ("n: int = 100", "noise: float = 0.5", "offers: grad, minibatch, residuals, value", "least-squares"):
        assert text in quadratic.stdout
    adam = run_cli("describe", "adam")
    assert "learning_rate: float = 0.01" in adam.stdout and "Kingma" in adam.stdout


def test_every_run_records_its_provenance_and_tables_can_group_by_it(comparison, capsys):
    runs, _ = optbench.load_results(comparison)
    versions = json.loads(runs["versions"].iloc[0])
    assert versions["jax"] == jax.__version__ and versions["numpy"] == np.__version__ and "optax" in versions
    device = jax.devices()[0]  # "cpu (its model)" on a CPU, the GPU's model (NVIDIA H100 80GB HBM3) on a GPU
    expected = "cpu" if device.platform == "cpu" else device.device_kind
    assert runs["device"].str.startswith(expected).all() and runs["host"].notna().all()
    assert set(runs.loc[runs["problem"] == "xor", "float64"]) == {0}  # the network computes in float32
    assert set(runs.loc[runs["problem"] == "linear", "float64"]) == {1}
    grouped = with_configs(runs, ["device"])
    assert grouped["config"].str.contains(r"\[device=cpu").all()
    _table(comparison, "--by", "device", "-p", "linear", "-o", "lm")
    assert "[device=cpu" in capsys.readouterr().out
    assert main(["table", "--db", str(comparison), "--by", "colour"]) == 2
    assert "cannot group by 'colour'" in capsys.readouterr().err


def test_the_ert_view_is_the_ert_of_the_hitting_times(comparison, capsys):
    runs, traces = optbench.load_results(comparison)
    runs = with_configs(runs)
    view = Comparison(runs, traces, Options()).ert_table().set_index(["problem", "optimizer", "level"])
    direct = ert(hitting_times(runs, traces)).set_index(["problem", "config", "level"])
    key = ("quadratic", "adam (150 steps)", 1e-2)
    assert view.loc[key, "ert"] == direct.loc[key, "ert"]
    assert view.loc[key, "ert_ci_low"] <= view.loc[key, "ert"] <= view.loc[key, "ert_ci_high"]
    _table(comparison, "--view", "ert")
    out = capsys.readouterr().out
    assert "<=1e-02" in out and "tau=1e-01" in out
    assert "no known optimum for xor" in out  # its targets fall back to the best loss found


def test_the_profile_view_scores_the_instance_costs(comparison, capsys):
    runs, traces = optbench.load_results(comparison)
    runs = with_configs(runs[runs["problem"] != "xor"])
    view = Comparison(runs, traces, Options())
    table = view.profile_table().set_index("optimizer")
    kept = view.pooled(runs)  # every curve on the same problems: gd's 50-step runs, on one of three, are left out
    assert set(runs["config"]) - set(kept["config"]) == {"gd (50 steps)"} and "(ran on 1 of 3)" in view.common[2]
    costs = instance_costs(hitting_times(kept, traces, kind="precision"), 1e-6)
    assert table["score"].to_dict() == pytest.approx(profile_score(costs).to_dict())
    solved = np.isfinite(costs.to_numpy(dtype=float)).mean(axis=1)  # misses are inf
    assert table["solved"].to_dict() == pytest.approx(dict(zip(costs.index, solved)))
    assert table["solved"].min() < 1.0  # 150 steps of gd do not reach 1e-6 everywhere
    assert table["instances"].iloc[0] == 9  # linear, quadratic and quadratic[n=50], 3 seeds each
    for view in ("stats", "profile", "fixed-budget"):
        _table(comparison, "--view", view)
        assert "optimizer" in capsys.readouterr().out


def test_run_prints_each_skip_and_failure_reason_once_with_a_count(tmp_path):
    plugins = plugin_dir(
        tmp_path,
        '''
        import optbench

        @optbench.register_optimizer("broken")
        def broken(learning_rate: float = 0.1):
            """Fails when it is built."""
            raise ValueError("no such method")
        ''',
    )
    ran = run_cli(
        *("run", "--plugins", str(plugins), "-p", "xor", "-p", "linear", "-o", "lm", "-o", "broken", "-o", "gd"),
        *("--seeds", "2", "--max-steps", "20", "--db", str(tmp_path / "db.sqlite"), "--no-progress"),
    )
    assert ran.returncode == 0, ran.stderr
    assert "2 runs skipped:" in ran.stderr and "2 x lm requires residuals, which xor does not offer" in ran.stderr
    assert "4 runs failed:" in ran.stderr and "4 x ValueError: no such method" in ran.stderr


BAD_VIEWS = [
    (["table", "--view", "ert", "--targets", "precision", "-p", "xor"], "precision targets need a known optimum"),
    (["table", "--view", "profile", "--level", "-1"], "--level must be positive"),
    (["table", "--view", "stats", "--alpha", "2"], "--alpha must be between 0 and 1"),
    (["plot", "--kind", "data-profile", "--x", "time"], "data profiles count evaluations"),
    (["report", "--output", "report.pdf"], "the report is an HTML file"),
    (["table", "-o", "nosuch"], "--optimizer 'nosuch' matches no stored run"),
]


@pytest.mark.parametrize("args, message", BAD_VIEWS)
def test_bad_view_requests_are_one_message_and_exit_2(comparison, args, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main([*args, "--db", str(comparison)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("optbench: error:") and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_an_empty_database_says_so(tmp_path, capsys):
    from optbench.store import ResultStore

    ResultStore(tmp_path / "empty.sqlite").close()
    for command in (["table"], ["plot"], ["report"], ["export", "--format", "csv"]):
        assert main([*command, "--db", str(tmp_path / "empty.sqlite")]) == 2
        assert "holds no runs" in capsys.readouterr().err


def test_the_command_line_offers_every_cost_axis_of_the_analysis():
    from optbench.analysis.targets import COST_AXES
    from optbench.cli.parser import COSTS  # kept apart so that --help imports no pandas

    assert list(COST_AXES) == COSTS


def test_reached_reads_a_dash_where_there_is_no_target(tmp_path, capsys):
    db = tmp_path / "runs.sqlite"
    optbench.run(["xor", "linear"], "adam", max_steps=20, db=db)  # xor: no known optimum, no budget target
    assert main(["table", "--db", str(db)]) == 0
    rows = {line.split("|")[1].strip(): line.split("|")[4].strip() for line in capsys.readouterr().out.splitlines()
            if line.startswith("| xor") or line.startswith("| linear")}  # fmt: skip
    assert rows == {"xor": "-", "linear": "0/1"}


def test_the_summary_orders_problems_by_the_numbers_in_their_names(tmp_path):
    from optbench.analysis.tables import summary

    runs, _ = optbench.run(["linear[n=200]", "linear[n=20]", "linear[n=3]"], "gd", max_steps=5)
    assert summary(with_configs(runs))["problem"].tolist() == ["linear[n=3]", "linear[n=20]", "linear[n=200]"]


def test_a_skip_reason_shared_by_many_problems_is_one_line_naming_them(tmp_path):
    from optbench.cli.running import not_run_summary

    runs = pd.DataFrame(
        {
            "status": ["skipped"] * 7 + ["failed"],
            "problem_name": [f"cutest_p{k}" for k in (10, 2, 3, 4, 5, 6, 7)] + ["linear"],
            "message": [f"lm requires residuals, which cutest_p{k} does not offer" for k in (10, 2, 3, 4, 5, 6, 7)]
            + ["ValueError: linear diverged"],
        }
    )
    text = not_run_summary(runs).splitlines()
    assert text == [
        "7 runs skipped:",
        "     7 x lm requires residuals, which <problem> does not offer "
        "(7 problems: cutest_p2, cutest_p3, cutest_p4, cutest_p5, cutest_p6, cutest_p7, ...)",
        "1 run failed:",
        "     1 x ValueError: linear diverged",
    ]


def test_a_table_too_wide_for_the_terminal_names_the_columns_it_left_out(monkeypatch):
    from optbench.analysis.formatting import format_table

    table = pd.DataFrame({"problem": ["linear"], "optimizer": ["gd"], "loss": [0.5], "time": [1.25], "nfev": [10]})
    monkeypatch.setenv("COLUMNS", "32")
    narrow = format_table(table).splitlines()
    assert narrow[0] == "| problem | optimizer | loss |"
    assert " ".join(narrow[3:]).startswith("(left out to fit 32 characters: time, nfev;")
    monkeypatch.setenv("COLUMNS", "200")  # a wider terminal brings them back
    assert format_table(table).splitlines()[0] == "| problem | optimizer | loss | time | nfev |"


def test_a_hue_over_many_values_is_a_panel_per_optimizer_with_one_colour_scale():
    rates = [10.0**k for k in np.linspace(-3, 0, 9)]
    configs = [(name, rate) for name in ("gd", "momentum", "adam") for rate in rates]  # lr_sweep's 27
    runs = pd.DataFrame(
        {
            "run_id": [f"r{i}" for i in range(len(configs))],
            "problem": "quadratic",
            "optimizer": [f"{n}[learning_rate={r}]" for n, r in configs],
            "optimizer_name": [n for n, _ in configs],
            "params": [json.dumps({"learning_rate": r}) for _, r in configs],
            "budget": '{"max_steps": 3}',
            "status": "max_steps",
            "f_opt": 0.0,
            "seed": 0,
        }
    )
    traces = pd.DataFrame(
        {
            "run_id": np.repeat(runs["run_id"], 3),
            "step": np.tile([0, 1, 2], len(runs)),
            "nfev": np.tile([1, 2, 3], len(runs)),
            "njev": np.tile([1, 2, 3], len(runs)),
            "time_s": 0.0,
            "loss": np.concatenate([[1.0, 1 - r / 2, 1 - r / 1.5] for _, r in configs]),
        }
    )
    traces["best_loss"] = traces["loss"]
    traces["epochs"] = traces["nfev"]
    fig = convergence(runs, traces, "quadratic", "steps", hue="learning_rate")
    panels = [ax for ax in fig.axes if ax.get_visible() and ax.get_title()]
    assert sorted(ax.get_title() for ax in panels) == ["adam", "gd", "momentum"]
    assert all(len(ax.lines) == 9 and ax.get_legend() is None for ax in panels)
    (bar,) = [ax for ax in fig.axes if ax.get_ylabel() == "learning_rate"]
    assert bar.get_yscale() == "log" and bar.get_ylim() == pytest.approx((1e-3, 1.0))
    # One scale: the same rate has the same colour in every panel.
    colours = {ax.get_title(): [line.get_color() for line in ax.lines] for ax in panels}
    assert colours["gd"] == colours["adam"] == colours["momentum"]
