"""Pseudo-replication: seeds of a deterministic method from a fixed start are one run.

On NIST's fixed starts, lm and scipy_lm give the same result for every seed; tested as
ten independent runs each, 0.3.0 called rounding-level differences significant and
advised more seeds. A genuinely random method (ga) keeps its replicates.
"""

import numpy as np
import pandas as pd
import scipy.stats

import optbench
from optbench.analysis.stats import copied_runs, pairwise_tests
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
