"""Pseudo-replication: seeds of a deterministic method from a fixed start are one run.

On NIST's fixed starts, lm and scipy_lm give the same result for every seed; tested as
ten independent runs each, 0.3.0 called rounding-level differences significant and
advised more seeds. A genuinely random method (ga) keeps its replicates.
"""

import numpy as np
import pandas as pd
import scipy.stats

import optbench
from optbench.analysis.stats import copied_runs, pairwise_tests, tied_ranks, vargha_delaney
from optbench.analysis.views import Comparison, Options, power_note


def test_copies_of_one_number_count_once_as_scipy_would_test_one_value_each():
    values = pd.DataFrame({"problem": "p", "config": ["a"] * 10 + ["b"] * 10, "value": [1.0] * 10 + [1.0 + 1e-14] * 10})
    naive = pairwise_tests(values).iloc[0]
    assert naive["significant"] and naive["p"] == scipy.stats.mannwhitneyu([1.0] * 10, [1.0 + 1e-14] * 10).pvalue
    counted = pairwise_tests(values, copies=[("p", "a"), ("p", "b")]).iloc[0]
    assert (counted["n_a"], counted["n_b"], counted["runs_a"], counted["runs_b"]) == (1, 1, 10, 10)
    assert counted["p"] == scipy.stats.mannwhitneyu([1.0], [1.0 + 1e-14]).pvalue == 1.0
    assert not counted["significant"]


def test_fixed_start_seeds_are_named_as_one_result_and_random_ones_are_tested():
    runs, traces = optbench.run("nist_misra1a", ["lm", "scipy_lm", "ga[pop_size=20]"], seeds=6, max_evals=2000)
    runs = runs.assign(config=runs["optimizer"])
    assert copied_runs(runs) == {("nist_misra1a", "lm"), ("nist_misra1a", "scipy_lm")}
    tests = Comparison(runs, traces, Options()).stats()["tests"]
    final = tests[tests["measure"] == "final loss"].set_index(["optimizer_a", "optimizer_b"])
    lm_pair = final.loc[("lm", "scipy_lm")]
    assert (lm_pair["n_a"], lm_pair["n_b"], lm_pair["runs_a"]) == (1, 1, 6) and not lm_pair["significant"]
    ga = final.loc[("lm", "ga[pop_size=20]")] if ("lm", "ga[pop_size=20]") in final.index else None
    assert ga is not None and ga["n_b"] == 6  # ga's seeds differ: six replicates
    note = power_note(tests, 0.05)
    assert "2 of 3 configurations gave one result over all their seeds" in note and "lm on nist_misra1a" in note
    assert "Run at least" not in note  # more seeds would only repeat lm's result
    assert np.isfinite(lm_pair["median_a"])


def test_the_effect_size_is_vargha_delaneys_a_as_scipys_u_gives_it():
    rng = np.random.default_rng(3)
    x, y = rng.normal(0, 1, 9), rng.normal(0.7, 1, 7)
    u_y = scipy.stats.mannwhitneyu(y, x).statistic  # pairs where y's value is above x's, ties half
    assert vargha_delaney(x, y) == u_y / (len(x) * len(y))
    assert vargha_delaney([1.0, 2.0], [1.0 + 1e-13, 3.0], tolerance=1e-12) == (0.5 + 1 + 0 + 1) / 4  # by hand


def test_ranks_tie_within_the_tolerance_and_are_scipys_without_it():
    values = np.array([3.0, 1.0, 1.0 + 1e-14, np.inf, 2.0, 2.0])
    np.testing.assert_array_equal(tied_ranks(values), scipy.stats.rankdata(values))
    np.testing.assert_array_equal(tied_ranks(values, 1e-12), [5, 1.5, 1.5, 6, 3.5, 3.5])
    # Grouping starts from the lowest: 1, 1.6, 2.2 at tolerance 1 are {1, 1.6} and {2.2}.
    np.testing.assert_array_equal(tied_ranks(np.array([2.2, 1.0, 1.6]), 1.0), [3, 1.5, 1.5])


def test_a_rounding_level_difference_is_not_significant_however_many_runs_show_it():
    rng = np.random.default_rng(0)
    x, y = 1.0 + 1e-15 * rng.random(20), 1.0 + 1e-13 + 1e-15 * rng.random(20)  # separable, 1e-13 apart
    values = pd.DataFrame({"problem": "p", "config": ["a"] * 20 + ["b"] * 20, "value": [*x, *y]})
    strict = pairwise_tests(values).iloc[0]
    assert strict["significant"] and strict["A"] == 1.0 and strict["p"] < 1e-6
    tolerant = pairwise_tests(values, tolerance={"p": 1e-12}).iloc[0]
    assert not tolerant["significant"] and tolerant["A"] == 0.5 and tolerant["p"] == strict["p"]


def test_nist_ranks_are_not_decided_by_rounding(capsys):
    # lm, scipy_lm and bfgs agree to the certified digits on these fits: they tie.
    runs, traces = optbench.run(["nist_misra1a", "nist_thurber"], ["lm", "scipy_lm", "bfgs"], max_evals=3000)
    ranks = Comparison(runs.assign(config=runs["optimizer"]), traces, Options()).stats()["ranks"]
    assert ranks["average_rank"].tolist() == [2.0, 2.0, 2.0]
    strict = Comparison(runs.assign(config=runs["optimizer"]), traces, Options(tolerance=0.0)).stats()["ranks"]
    assert sorted(strict["average_rank"]) != [2.0, 2.0, 2.0]


def test_a_bad_tolerance_is_one_clear_error(capsys):
    from helpers import refused

    for value in ("-1", "nan", "inf"):
        refused(["table", "--view", "stats", "--tolerance", value], capsys, "--tolerance must be a finite number")
