"""Tuned comparisons: trials drawn from each optimizer's search space, the best of each
study selected on the training loss, the selection scored on fresh seeds."""

import jax.numpy as jnp
import numpy as np
import pytest
from helpers import refused

import optbench
from optbench.cli import main
from optbench.errors import PluginError
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


def test_final_seeds_are_fresh_and_the_table_is_the_median_over_studies_of_its_runs():
    tuned = optbench.tune(["quadratic"], ["adam", "lm"], trials=5, studies=3, seeds=3, max_steps=60, progress=False)
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
    lm = tuned.table.set_index("optimizer").loc["lm"]
    assert lm["trials"] == 1 and lm["note"] == "nothing to tune: its defaults"


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
    assert main(["describe", "lm"]) == 0
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
