"""Pooled views (ECDF, performance and data profiles) stand every curve on the same problems:
a configuration run on fewer problems is left out, or the view keeps the problems every
configuration ran, whichever keeps more (configuration, problem) pairs, and says which."""

import pandas as pd

import optbench
from optbench.analysis.views import Comparison, Options

FOUR = ["linear", "quadratic", "sinusoidal", "nist_misra1a"]


def _comparison(adam_problems):
    runs, traces = optbench.run(FOUR, ["gd", "lbfgs"], max_steps=60)
    more, more_traces = optbench.run(adam_problems, "adam", max_steps=60)
    runs = pd.concat([runs, more], ignore_index=True).assign(config=lambda t: t["optimizer"])
    return Comparison(runs, pd.concat([traces, more_traces], ignore_index=True), Options())


def test_a_configuration_run_on_few_problems_is_left_out_with_the_reason():
    comparison = _comparison(FOUR[:2])  # 2 x 4 pairs without adam, against 3 x 2 with it
    problems, configs, note = comparison.common
    assert problems == set(FOUR) and configs == {"gd", "lbfgs"}
    assert note == "Left out, for not running on every problem: adam (ran on 2 of 4)."
    assert set(comparison.profile_table()["optimizer"]) == {"gd", "lbfgs"}
    assert set(comparison.pooled(comparison.hits)["config"]) == {"gd", "lbfgs"}


def test_a_problem_not_every_configuration_ran_is_left_out_with_the_reason():
    comparison = _comparison(FOUR[:3])  # 3 x 3 pairs on three problems, against 2 x 4 without adam
    problems, configs, note = comparison.common
    assert problems == set(FOUR[:3]) and configs == {"gd", "lbfgs", "adam"}
    assert note == "Over the 3 problems every configuration shown ran on; problems left out: nist_misra1a."
    assert comparison.profile_table()["instances"].iloc[0] == 3  # one seed on each of three problems


def test_where_no_problem_is_shared_the_configurations_that_share_most_are_kept():
    runs, traces = optbench.run(FOUR[:2], "gd", max_steps=60)
    more, more_traces = optbench.run(FOUR[2:], "lbfgs", max_steps=60)
    runs = pd.concat([runs, more], ignore_index=True).assign(config=lambda t: t["optimizer"])
    comparison = Comparison(runs, pd.concat([traces, more_traces], ignore_index=True), Options())
    problems, configs, note = comparison.common
    assert (problems, configs) == (frozenset(FOUR[:2]), frozenset({"gd"}))
    assert "lbfgs (ran on 2 of 4)" in note and "problems left out: nist_misra1a, sinusoidal" in note
    assert len(comparison.profile_costs().columns) == 2


def test_nothing_is_left_out_where_every_configuration_ran_everywhere():
    comparison = _comparison(FOUR)
    assert comparison.common == (frozenset(FOUR), frozenset({"gd", "lbfgs", "adam"}), "")
