"""The command line as a user runs it: output, bad input, and a database left untouched."""

import sqlite3
import subprocess
import sys
import textwrap

import pytest
from helpers import REPO, db_rows, run_cli

import optbench
from optbench.cli import main


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """A database with one small comparison in it."""
    path = tmp_path_factory.mktemp("cli") / "runs.sqlite"
    code = main(
        [
            "run",
            "-p",
            "linear",
            "-p",
            "quadratic[n=50]",
            "-o",
            "gd",
            "-o",
            "adam[learning_rate=[0.1,0.01]]",
            "-o",
            "momentum",
            "--seeds",
            "2",
            "--max-steps",
            "300",
            "--db",
            str(path),
            "--no-progress",
        ]
    )
    assert code == 0
    return path


def test_run_prints_the_table_and_stores_every_run(stored, capsys):
    with sqlite3.connect(stored) as conn:
        assert conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 2 * 4 * 2
        assert conn.execute("SELECT COUNT(DISTINCT run_id) FROM traces").fetchone()[0] == 16


def test_table_formats(stored, capsys):
    assert main(["table", "--db", str(stored), "--format", "csv"]) == 0
    header = capsys.readouterr().out.splitlines()[0].split(",")
    for column in (
        "problem",
        "optimizer",
        "n_runs",
        "fun_median",
        "fun_best",
        "nfev_median",
        "time_s_median",
        "subopt_median",
        "compile_s_median",
        "nfev_to_target_median",
    ):
        assert column in header
    assert main(["table", "--db", str(stored), "--problem", "linear", "--optimizer", "adam"]) == 0
    out = capsys.readouterr().out
    assert "adam[learning_rate=0.1]" in out and "quadratic" not in out and "momentum" not in out
    assert main(["table", "--db", str(stored), "--format", "latex"]) == 0
    assert "\\begin{tabular}" in capsys.readouterr().out


def test_plot_writes_pngs(stored, tmp_path, capsys):
    target = tmp_path / "linear.png"
    assert main(["plot", "--db", str(stored), "--problem", "linear", "--x", "evals", "--output", str(target)]) == 0
    assert target.read_bytes()[:4] == b"\x89PNG"
    assert main(["plot", "--db", str(stored), "--x", "time", "--output", str(tmp_path / "all")]) == 0
    assert len(list((tmp_path / "all").glob("*.png"))) == 2


def test_list_commands(capsys):
    assert main(["list", "optimizers"]) == 0
    out = capsys.readouterr().out
    assert "adam" in out and "first_order" in out and "grad,minibatch" in out
    assert main(["list", "problems"]) == 0
    out = capsys.readouterr().out
    assert "sinusoidal_wave" in out and "nist_misra1a" in out
    sets = {"bbob_*": "cocoex", "cutest_*": "sif2jax"}
    for prefix, package in sets.items():  # a set of problems is one line, named in full with --all
        if any(line.startswith(prefix) for line in out.splitlines()):
            assert package in out and prefix[:-1] + "f8" not in out and "cutest_beale" not in out
    assert main(["list", "problems", "--all"]) == 0
    everything = capsys.readouterr().out
    assert set(out.splitlines()) - set(everything.splitlines()) <= {line for line in out.splitlines() if "_* " in line}
    assert main(["list", "suites"]) == 0
    assert "default" in capsys.readouterr().out


BAD_INPUT = [
    (["run", "-p", "quadratc", "-o", "gd"], "unknown problem 'quadratc' (did you mean 'quadratic'?)"),
    (["run", "-p", "linear", "-o", "adma"], "did you mean 'adam'"),
    (["run", "-p", "linear", "-o", "adam[learning_rate=0.1"], "malformed spec"),
    (["run", "-p", "linear", "-o", "adam[lr=0.1]"], "has no parameter 'lr'"),
    (["run", "-p", "linear[n=many]", "-o", "gd"], "parameter 'n' must be int"),
    (["run", "nosuch"], "unknown suite 'nosuch'"),
    (["run", "missing/suite.toml"], "does not exist"),
    (["run", "-p", "linear", "-o", "gd", "--max-steps", "0"], "max_steps must be a whole number from 1"),
    (["run", "-p", "linear", "-o", "gd", "--max-time", "-1"], "max_time must be a positive"),
    (["run", "-p", "linear", "-o", "gd", "--seeds", "0"], "number of seeds must be from 1 to"),
    # Found by a hostile user (issue 11): each computed runs, crashed or hung before.
    (["run", "-p", "linear", "-o", "gd", "--max-steps", "3000000000"], "from 1 to 2,147,483,647"),
    (["run", "-p", "linear", "-o", "gd", "--max-evals", "3000000000"], "from 1 to 2,147,483,647"),
    (["run", "-p", "linear", "-o", "gd", "--max-epochs", "inf"], "max_epochs must be a positive, finite"),
    (
        ["run", "-p", "linear", "-o", "gd", "--max-time", "inf"],
        "max_time must be a positive number of seconds up to 86,400",
    ),
    (["run", "-p", "linear", "-o", "gd", "--target", "nan"], "target must be a finite number"),
    (["run", "-p", "linear", "-o", "gd", "--seeds", "1000000000"], "number of seeds must be from 1 to 100,000"),
    (["run", "-p", "linear", "-o", "sgd[batch_size=0]"], "'sgd[batch_size=0]': batch_size must be at least 1"),
    (["run", "-p", "linear", "-o", "ga[pop_size=0]"], "'ga[pop_size=0]': pop_size must be at least 2"),
    (["run", "-p", "linear", "-o", "lbfgs[memory=0]"], "memory must be at least 1"),
    (["run", "-p", "linear", "-o", "scipy_lbfgsb[maxcor=-1]"], "maxcor must be at least 1"),
    (["run", "-p", f"linear[n={'1' * 5000}]", "-o", "gd"], "has too many digits"),
    (["run", "-p", "linear[n=99999999999999999999]", "-o", "gd"], "does not fit in 64 bits"),
    (["run", "-p", "linear", "-o", "adam[learning_rate=logspace(400,500,3)]"], "overflows a float"),
    (["run", "-p", "linear", "-o", "adam[learning_rate=linspace(0,1,1000000)]"], "from 1 to 10,000, got 1000000"),
    (["run", "-p", "linear", "-o", "adam[learning_rate=[1,2],b1=linspace(0,1,9000)]"], "18,000 configurations"),
    (["run", "-p", "linear[n=\u0663]", "-o", "gd"], "expected a value"),  # an Arabic-Indic three
    (["run", "-p", "linear"], "at least one -p PROBLEM and one -o OPTIMIZER"),
    (["table", "--problem", "nothing_like_it"], "--problem 'nothing_like_it' matches no stored run"),
]


@pytest.mark.parametrize("args, message", BAD_INPUT)
def test_bad_input_is_one_message_and_leaves_the_database_untouched(args, message, stored, tmp_path, capsys):
    copy = tmp_path / "copy.sqlite"
    copy.write_bytes(stored.read_bytes())
    before = db_rows(copy)
    assert main([*args, "--db", str(copy)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("optbench: error:") and "Traceback" not in err
    assert db_rows(copy) == before


def test_invalid_suite_files(tmp_path, capsys):
    cases = {
        "syntax.toml": ("problems = [linear", "not valid TOML"),
        "keys.toml": ('problems = ["linear"]\noptimizers = ["gd"]\nbudgets = 1', "unknown key(s) budgets"),
        "empty.toml": ('problems = []\noptimizers = ["gd"]', "problems must be a non-empty list"),
        "budget.toml": ('problems = ["linear"]\noptimizers = ["gd"]\n[budget]\nmax_steps = -3', "max_steps"),
        "seeds.toml": ('problems = ["linear"]\noptimizers = ["gd"]\nseeds = "five"', "seeds must be"),
    }
    for name, (text, message) in cases.items():
        (tmp_path / name).write_text(text)
        assert main(["run", str(tmp_path / name), "--db", str(tmp_path / "db.sqlite")]) == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "db.sqlite").exists()


def test_unwritable_database_path(tmp_path, capsys):
    (tmp_path / "file").write_text("not a folder")
    assert main(["run", "-p", "linear", "-o", "gd", "--db", str(tmp_path / "file" / "db.sqlite")]) == 2
    assert "cannot open results database" in capsys.readouterr().err
    (tmp_path / "junk.sqlite").write_text("this is not a database, and must stay as it is")
    assert main(["run", "-p", "linear", "-o", "gd", "--db", str(tmp_path / "junk.sqlite")]) == 2
    assert "is not an SQLite database" in capsys.readouterr().err
    assert (tmp_path / "junk.sqlite").read_text() == "this is not a database, and must stay as it is"


def test_plugins_add_problems_and_optimizers(tmp_path, capsys):
    plugins = tmp_path / "my_dir"
    plugins.mkdir()
    (plugins / "mine.py").write_text(
        textwrap.dedent('''
        import jax.numpy as jnp
        import optax
        import optbench

        @optbench.register_problem("my_problem")
        def my_problem(dim: int = 3):
            """A shifted bowl."""
            return optbench.Problem("my_problem", lambda x: jnp.sum((x - 1.0) ** 2), init=jnp.zeros(dim), f_opt=0.0)

        @optbench.register_optimizer("my_optimizer")
        def my_optimizer(learning_rate: float = 0.1):
            """Plain SGD from optax."""
            return optax.sgd(learning_rate)
    ''')
    )
    db = tmp_path / "db.sqlite"
    result = run_cli("run", "--plugins", str(plugins), "-p", "my_problem", "-o", "my_optimizer", "--db", str(db))
    assert result.returncode == 0, result.stderr
    assert "my_problem" in result.stdout and "my_optimizer" in result.stdout
    (plugins / "broken.py").write_text("raise ValueError('oops')\n")
    result = run_cli("list", "problems", "--plugins", str(plugins))
    assert result.returncode == 2 and "broken.py failed to import: ValueError: oops" in result.stderr
    assert "Traceback" not in result.stderr


def test_help_does_not_import_jax():
    code = (
        "import sys\nfrom optbench.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "assert 'jax' not in sys.modules and 'pandas' not in sys.modules, 'heavy import'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert "usage: optbench" in result.stdout
    assert run_cli("--help").returncode == 0


def test_command_line_budget_replaces_the_suites(tmp_path):
    suite = tmp_path / "small.toml"
    suite.write_text('problems = ["linear"]\noptimizers = ["gd"]\nseeds = [3, 4]\n[budget]\nmax_steps = 50\n')
    db = tmp_path / "db.sqlite"
    assert main(["run", str(suite), "--db", str(db), "--max-steps", "7"]) == 0
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT suite, seed, nit FROM runs ORDER BY seed").fetchall()
    assert rows == [("small", 3, 7), ("small", 4, 7)]


def test_plot_hue_draws_a_line_per_learning_rate_and_marks_divergence(tmp_path, capsys):
    from optbench.analysis.plots import convergence

    db = tmp_path / "lr.sqlite"
    assert main(["run", "-p", "quadratic", "-o", "gd[learning_rate=[0.001,0.1,10]]", "--db", str(db)]) == 0
    runs, traces = optbench.load_results(db)
    assert set(runs["status"]) == {"max_steps", "diverged"}
    fig = convergence(runs, traces, "quadratic", "steps", hue="learning_rate")
    labels = [line.get_label() for line in fig.axes[0].lines if not line.get_label().startswith("_")]
    assert labels == [f"gd learning_rate={rate} (n=1)" for rate in ("0.001", "0.1", "10")]
    assert fig.axes[0].get_legend() is None and fig.axes[-1].get_ylabel() == "learning_rate"  # a colour bar
    crosses = [line for line in fig.axes[0].lines if line.get_marker() == "x"]
    assert len(crosses) == 1 and crosses[0].get_xdata()[0] > 0  # where the rate of 10 diverged
    assert main(["plot", "--db", str(db), "--hue", "learning_rate", "--output", str(tmp_path / "p.png")]) == 0
    assert main(["plot", "--db", str(db), "--hue", "beta", "--output", str(tmp_path / "q.png")]) == 2
    assert "no optimizer run on this problem has a numeric hyperparameter 'beta'" in capsys.readouterr().err


@pytest.mark.parametrize(
    "name, says",
    [
        ("logistic", ["427 training examples", "(l2 / 2) |w|^2, the intercept b unpenalized", "C = 0.234"]),
        ("linear", ["the mean squared residual, mean(r_i^2) over its 100 points"]),
        ("nist_misra1a", ["over its 14 points"]),
        ("zdt1", ["a vector of objectives"]),
    ],
)
def test_describe_states_each_problems_objective(capsys, name, says):
    from optbench.cli import main

    assert main(["describe", name]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for words in says:
        assert words in text
