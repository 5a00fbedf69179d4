"""Input a hostile (or unlucky) user gave optbench, and what it must do: one clear message
and exit 2 before any work, or, for a failure inside a run, a result and a suite that goes
on. Each case was a traceback, a silent exit or a wrong status before issue 11."""

import math
import sys

import jax.numpy as jnp
import pytest
from helpers import plugin_dir, refused

import optbench
from optbench.errors import PluginError
from optbench.registry import REGISTRY
from optbench.result import Status


@pytest.mark.parametrize(
    "source, message",
    [
        ("import sys\nsys.exit(0)\n", "called sys.exit(0) while being imported"),
        (
            "import argparse\nparser = argparse.ArgumentParser()\nparser.add_argument('--lr')\nparser.parse_args()\n",
            "called sys.exit(2) while being imported",
        ),
    ],
)
def test_a_plugin_that_exits_at_import_is_named(tmp_path, capsys, monkeypatch, source, message):
    plugins = plugin_dir(tmp_path, source, name="script_like.py")
    db = tmp_path / "r.sqlite"
    args = ["run", "-p", "linear", "-o", "gd", "--plugins", str(plugins), "--db", str(db)]
    monkeypatch.setattr(sys, "argv", ["optbench", *args])  # what a plugin's own argparse reads
    err = refused(args, capsys, message)
    assert "script_like.py" in err and not db.exists()


def test_a_plugin_that_fails_half_way_registers_nothing_and_can_be_fixed(tmp_path):
    plugins = plugin_dir(
        tmp_path,
        """
        import optax
        from optbench import register_optimizer

        @register_optimizer("half_way")
        def half_way(learning_rate: float = 0.1):
            return optax.sgd(learning_rate)

        raise RuntimeError("a typo further down")
        """,
    )
    with pytest.raises(PluginError, match="failed to import: RuntimeError: a typo further down"):
        optbench.run("linear", "half_way", plugins=[plugins])
    assert "half_way" not in REGISTRY.names("optimizer")  # not half-loaded
    (plugins / "plugin.py").write_text((plugins / "plugin.py").read_text().replace("raise RuntimeError", "# "))
    runs, _ = optbench.run("linear", "half_way", plugins=[plugins], max_steps=5)  # the fixed file loads
    assert runs["status"].iloc[0] == "max_steps"


def test_a_plugin_reusing_a_builtin_name_is_blamed_even_when_loaded_first(tmp_path, capsys):
    plugins = plugin_dir(
        tmp_path,
        """
        import jax.numpy as jnp
        from optbench import Problem, register_problem

        @register_problem("linear")
        def linear():
            return Problem("linear", lambda x: jnp.sum(x ** 2), init=jnp.ones(2))
        """,
        name="mine.py",
    )
    # A fresh process: the plugin is the first thing loaded.
    from helpers import run_cli

    done = run_cli("run", "-p", "linear", "-o", "gd", "--plugins", str(plugins), "--db", str(tmp_path / "r.sqlite"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "mine.py: problem 'linear' is registered twice (first by optbench)" in done.stderr


def test_a_plugin_problem_with_a_word_as_its_optimum_is_refused_at_plan_time(tmp_path, capsys):
    plugins = plugin_dir(
        tmp_path,
        """
        import jax.numpy as jnp
        from optbench import Problem, register_problem

        @register_problem("wordy")
        def wordy():
            return Problem("wordy", lambda x: jnp.sum(x ** 2), init=jnp.ones(2), f_opt="zero")
        """,
    )
    db = tmp_path / "r.sqlite"
    args = ["run", "-p", "wordy", "-o", "gd", "--plugins", str(plugins), "--db", str(db)]
    refused(args, capsys, "problem 'wordy': f_opt must be a finite number, got 'zero'")
    assert not db.exists()


@pytest.mark.parametrize(
    "text, message",
    [
        ("problems = " + "[" * 2000 + "]" * 2000, "nests arrays or tables too deeply"),
        ("problems = ['linear']\noptimizers = ['gd']\nseeds = [-1]", "or a list of seeds (0 to 4,294,967,295)"),
        ("problems = ['linear']\noptimizers = ['gd']\nseeds = [4294967296]", "got [4294967296]"),
        ("problems = ['linear']\noptimizers = ['gd']\nseeds = 10000000000", "a number of seeds (1 to 100,000)"),
        (
            "problems = ['linear']\noptimizers = ['gd']\n[budget]\nmax_time = inf",
            "max_time must be a positive number of seconds up to 86,400",
        ),
        ("problems = ['linear']\noptimizers = ['gd']\n[budget]\nmax_steps = 1e3", "max_steps must be a whole number"),
    ],
)
def test_broken_suite_files(tmp_path, capsys, text, message):
    suite = tmp_path / "broken.toml"
    suite.write_text(text)
    refused(["run", str(suite), "--db", str(tmp_path / "r.sqlite")], capsys, message)
    assert not (tmp_path / "r.sqlite").exists()


def test_a_problem_whose_start_raises_is_a_failed_result_and_the_suite_goes_on(tmp_path):
    plugins = plugin_dir(
        tmp_path,
        """
        import jax.numpy as jnp
        from optbench import Problem, register_problem

        def no_start(key):
            raise ValueError("the starting point file is missing")

        @register_problem("startless")
        def startless():
            return Problem("startless", lambda x: jnp.sum(x ** 2), init=no_start)
        """,
    )
    optimizers = ["bfgs", "nelder_mead", "scipy_bfgs", "scipy_nelder_mead", "gd"]
    runs, _ = optbench.run(["startless", "linear"], optimizers, plugins=[plugins], max_steps=20)
    mine = runs[runs["problem"] == "startless"]
    assert len(mine) == 5 and (mine["status"] == "failed").all()
    assert mine["message"].str.contains("the starting point file is missing").all()
    assert (runs.loc[runs["problem"] == "linear", "status"] != "failed").all()


def test_an_epoch_budget_says_so():
    result = optbench.minimize("sinusoidal", "sgd", max_epochs=3)
    assert result.status is Status.MAX_EPOCHS and result.message.startswith("epoch budget spent")


def test_a_population_method_on_a_loss_that_is_nan_everywhere_diverges():
    problem = optbench.Problem(
        "nan_everywhere", lambda x: jnp.sum(x) * jnp.nan, init=jnp.zeros(2), bounds=(-jnp.ones(2), jnp.ones(2))
    )
    for method in ("ga", "nelder_mead"):
        result = optbench.minimize(problem, method, max_steps=50)
        assert result.status is Status.DIVERGED and result.nit == 0, method


def test_the_stats_power_note_holds_from_515_seeds_on():
    """2.0 / C(2n, n) overflowed a float from n = 515: `table --view stats` and `report` crashed."""
    import pandas as pd

    from optbench.analysis.views import power_note

    for n in (3, 515, 2000):
        tests = pd.DataFrame({"problem": ["p"], "measure": ["loss"], "a": ["x"], "b": ["y"], "n_a": [n], "n_b": [n]})
        note = power_note(tests, 0.05)
        assert ("no difference can be significant" in note) == (n == 3)  # C(6, 3) = 20: p >= 0.1


def test_the_stats_power_note_names_the_seeds_a_tiny_alpha_needs():
    """report --alpha 1e-300 raised StopIteration: the search for enough seeds stopped at 199."""
    import pandas as pd

    from optbench.analysis.views import power_note

    tests = pd.DataFrame({"problem": ["p"], "measure": ["loss"], "a": ["x"], "b": ["y"], "n_a": [3], "n_b": [3]})
    # The smallest k with log 2 - log C(2k, k) <= log 1e-300, by log-gamma: 500.
    log_p = lambda k: math.log(2) - (math.lgamma(2 * k + 1) - 2 * math.lgamma(k + 1))
    expected = next(k for k in range(3, 10_000) if log_p(k) <= math.log(1e-300))
    assert f"Run at least {expected} seeds" in power_note(tests, 1e-300)


@pytest.mark.parametrize("seconds", [2147483648, 1e20, 86_401])
def test_a_time_budget_has_a_ceiling(capsys, seconds):
    refused(["run", "-p", "linear", "-o", "gd", "--max-time", str(seconds)], capsys, "up to 86,400 (a day)")


@pytest.mark.parametrize("command", [["table"], ["plot"], ["report"], ["export", "--format", "csv"]])
def test_ctrl_c_in_a_view_does_not_speak_of_runs_and_resuming(monkeypatch, capsys, command):
    from optbench.cli import main, views

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(views, f"{command[0]}_command", interrupted)
    assert main(command) == 130
    said = capsys.readouterr().err
    assert "interrupted; no file was half-written" in said and "resume" not in said


@pytest.mark.parametrize("address", ["tls://127.0.0.1:1", "local:", "inproc://", "🙂", "", "tcp://host:99999"])
def test_a_malformed_dask_address_is_refused_before_any_work(tmp_path, capsys, address):
    db = tmp_path / "runs.sqlite"
    refused(["run", "-p", "linear", "-o", "gd", "--dask", address, "--db", str(db)], capsys, "not a scheduler address")
    assert not db.exists()


def test_workers_are_capped_at_what_helps(tmp_path, capsys, monkeypatch):
    import os

    from optbench.cli import main

    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    db = str(tmp_path / "runs.sqlite")
    assert main(["run", "-p", "linear", "-o", "gd", "--max-steps", "5", "--workers", "12", "--db", db]) == 0
    assert "12 workers would not help: using 1 (the 1 groups of runs that can run apart)" in capsys.readouterr().err
    common = ["run", "-p", "linear", "-p", "quadratic", "-o", "gd", "-o", "adam", "--max-steps", "5", "--db", db]
    assert main([*common, "--workers", "12"]) == 0
    assert "using 2 (this machine's 2 cores)" in capsys.readouterr().err


@pytest.mark.parametrize("option", ["--seeds", "--max-steps", "--workers", "--max-time"])
@pytest.mark.parametrize("digit", ["１", "٣", "1_000"])
def test_numbers_on_the_command_line_are_ascii(capsys, option, digit):
    from optbench.cli import main

    with pytest.raises(SystemExit) as done:  # argparse's own usage error
        main(["run", "-p", "linear", "-o", "gd", option, digit])
    assert done.value.code == 2
    assert f"argument {option}: {digit!r} is not a" in capsys.readouterr().err.splitlines()[-1]


def test_a_megabyte_name_is_not_echoed_in_a_megabyte_message(capsys):
    from optbench.cli import main

    for command in (["run", "-p", "x" * 1_000_000, "-o", "gd"], ["run", "-p", "linear", "-o", "y" * 1_000_000],
                    ["run", "z" * 1_000_000], ["describe", "w" * 1_000_000]):  # fmt: skip
        assert main(command) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and len(err) < 1200, err[:300]


def test_a_fixed_budget_plot_leaves_out_a_problem_whose_losses_are_all_infinite(tmp_path, capsys):
    """It raised "cannot be log-scaled", after writing the first problems' PNGs."""
    from optbench.cli import main

    plugins = plugin_dir(
        tmp_path,
        """
        import jax.numpy as jnp
        from optbench import Problem, register_problem

        @register_problem("everywhere_inf")
        def everywhere_inf():
            return Problem("everywhere_inf", lambda x: jnp.sum(x ** 2) + jnp.inf, init=jnp.ones(2))
        """,
    )
    db, out = str(tmp_path / "r.sqlite"), tmp_path / "plots"
    common = ["--plugins", str(plugins), "--db", db]
    assert main(["run", "-p", "linear", "-p", "everywhere_inf", "-o", "nelder_mead", "--max-steps", "20", *common]) == 0
    capsys.readouterr()
    assert main(["plot", "--kind", "fixed-budget", "--output", str(out), "--db", db]) == 0
    assert "left out: no run of 'everywhere_inf' reached a finite loss" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["linear_fixed_budget.png"]


@pytest.mark.parametrize(
    "command", [["run", "-p", "", "-o", "gd"], ["run", "-p", "linear", "-o", " "], ["table", "-o", ""]]
)
def test_an_empty_spec_is_one_line(capsys, command):
    from optbench.cli import main

    assert main(command) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith("optbench: error:"), repr(err)


def test_a_column_name_with_control_characters_is_quoted_in_its_message():
    import pandas as pd

    from optbench.analysis.selection import with_configs
    from optbench.errors import OptbenchError

    with pytest.raises(OptbenchError) as raised:
        with_configs(pd.DataFrame({"run_id": []}), ["/\x1a\r\u00e9"])
    assert "\r" not in str(raised.value) and "'/\\x1a\\ré'" in str(raised.value)
