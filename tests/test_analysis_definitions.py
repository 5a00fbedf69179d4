"""The fixed-target methodology against hand-computed cases and published numbers."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from optbench.analysis.fixed_budget import best_at_budgets
from optbench.analysis.fixed_target import ert, runtime_ecdf
from optbench.analysis.profiles import data_profile, instance_costs, performance_profile, profile_score
from optbench.analysis.stats import average_ranks, bootstrap_ci, holm, pairwise_tests
from optbench.analysis.targets import hitting_times, targets
from optbench.drive.trace import PRECISIONS, StreamedTrace, first_reached, kept_rows, thin_index

ORACLES = Path(__file__).resolve().parent / "data" / "algoperf"  # a copy of ../shared/oracles/algoperf


def _hits(rows):
    """Hitting-time rows: (config, problem, hit cost or None, spent)."""
    return pd.DataFrame(
        [
            {"problem": p, "config": c, "kind": "precision", "level": 1e-3, "hit": cost is not None,
             "cost": np.nan if cost is None else float(cost), "spent": float(spent)}
            for c, p, cost, spent in rows
        ]
    )  # fmt: skip


def test_ert_of_the_issue_example_is_115():
    hits = _hits([("a", "p", 10, 10), ("a", "p", 20, 20), ("a", "p", None, 100), ("a", "p", None, 100)])
    row = ert(hits).iloc[0]
    assert row["ert"] == 115.0  # (10 + 20 + 100 + 100) / 2
    assert row["n_success"] == 2 and row["n_runs"] == 4 and row["success_rate"] == 0.5


def test_ert_without_a_success_is_infinite_and_with_only_successes_is_the_mean():
    hits = _hits([("a", "p", None, 50), ("a", "p", None, 70), ("b", "p", 4, 9), ("b", "p", 8, 9)])
    table = ert(hits).set_index("config")
    assert np.isinf(table.loc["a", "ert"]) and table.loc["a", "success_rate"] == 0.0
    assert table.loc["b", "ert"] == 6.0


def test_runtime_ecdf_counts_pairs_reached_within_each_cost():
    # config a: 4 (run, target) pairs, reached at 1, 3 and 3; one never.
    hits = _hits([("a", "p", 1, 5), ("a", "p", 3, 5), ("a", "q", 3, 9), ("a", "q", None, 9)])
    table = runtime_ecdf(hits, grid=[0.5, 1, 2, 3, 100])
    assert table["fraction"].tolist() == [0.0, 0.25, 0.25, 0.75, 0.75]


def test_performance_profile_by_hand():
    # Three solvers, four problems; problem p4 solved by nobody.
    costs = pd.DataFrame(
        {
            "p1": [10.0, 20.0, np.nan],
            "p2": [30.0, 15.0, 60.0],
            "p3": [np.inf, 5.0, 5.0],
            "p4": [np.inf, np.nan, np.inf],
        },
        index=["a", "b", "c"],
    )
    # ratios: a = [1, 2, inf, inf], b = [2, 1, 1, inf], c = [inf, 4, 1, inf]
    rho = performance_profile(costs, [1.0, 2.0, 4.0, 10.0])
    assert rho.loc["a"].tolist() == [0.25, 0.5, 0.5, 0.5]
    assert rho.loc["b"].tolist() == [0.5, 0.75, 0.75, 0.75]
    assert rho.loc["c"].tolist() == [0.25, 0.25, 0.5, 0.5]


def test_a_problem_solved_at_no_cost_counts_its_best_solvers_as_fastest():
    costs = pd.DataFrame({"p": [0.0, 0.0, 3.0]}, index=["a", "b", "c"])
    assert performance_profile(costs, [1.0]).iloc[:, 0].tolist() == [1.0, 1.0, 0.0]


def test_profile_score_reproduces_the_algoperf_leaderboard():
    times = pd.read_csv(ORACLES / "time_to_targets.csv", index_col=0)
    published = pd.read_csv(ORACLES / "leaderboard.csv", index_col=0)["score_by_wallclock"]
    scores = profile_score(times, tau_max=4.0)
    assert len(scores) == 16
    assert np.abs(scores - published.reindex(scores.index)).max() <= 1e-9


def test_profile_score_by_hand():
    # Solver a is fastest everywhere (score 1); b is 2x slower on one of two problems:
    # rho_b = 0.5 for tau in [1, 2), 1 from 2 on; on the 100-point grid the trapezoid
    # rule integrates exactly where the step falls on a grid point: tau = 2 is point 33.
    costs = pd.DataFrame({"p": [1.0, 2.0], "q": [1.0, 1.0]}, index=["a", "b"])
    taus = np.linspace(1, 4, 100)
    rho_b = np.where(taus >= 2, 1.0, 0.5)
    assert profile_score(costs)["a"] == 1.0
    assert profile_score(costs)["b"] == pytest.approx(np.trapezoid(rho_b, taus) / 3, abs=1e-15)


def test_data_profile_by_hand():
    # n = 1 and 3: simplex gradients of 2 and 4 evaluations.
    costs = pd.DataFrame({"p": [4.0, 8.0], "q": [4.0, np.inf]}, index=["a", "b"])
    share = data_profile(costs, pd.Series({"p": 1, "q": 3}), [1.0, 2.0, 4.0])
    assert share.loc["a"].tolist() == [0.5, 1.0, 1.0]  # p: 4/2 = 2; q: 4/4 = 1
    assert share.loc["b"].tolist() == [0.0, 0.0, 0.5]  # p: 8/2 = 4; q: never


def test_holm_by_hand():
    # sorted 0.005, 0.01, 0.03, 0.04 -> 4*0.005, 3*0.01, 2*0.03, 1*0.04 = 0.02, 0.03, 0.06, 0.04
    # then the running maximum: 0.02, 0.03, 0.06, 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]).tolist() == [1.0, 1.0]


def test_pairwise_tests_agree_with_scipy_and_failures_rank_worst():
    fast, slow = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [10.0, 11.0, 12.0, np.inf, np.inf, np.inf]
    values = pd.DataFrame(
        {"problem": "p", "config": ["fast"] * 6 + ["slow"] * 6 + ["same"] * 6, "value": fast + slow + fast}
    )
    table = pairwise_tests(values, alpha=0.05).set_index(["a", "b"])
    expected = scipy.stats.mannwhitneyu(fast, slow, alternative="two-sided")
    row = table.loc[("fast", "slow")]
    assert row["p"] == pytest.approx(expected.pvalue) and row["U"] == expected.statistic
    assert row["p_holm"] == pytest.approx(min(1.0, 3 * expected.pvalue))  # the smallest of 3 p-values
    assert row["significant"] and row["better"] == "fast"
    assert table.loc[("slow", "same"), "significant"] and table.loc[("slow", "same"), "better"] == "same"
    assert table.loc[("fast", "same"), "p"] == 1.0 and not table.loc[("fast", "same"), "significant"]


def test_bootstrap_interval_is_scipys_and_reproducible():
    values = np.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0])
    low, high = bootstrap_ci(values, seed=7)
    assert (low, high) == bootstrap_ci(values, seed=7)
    direct = scipy.stats.bootstrap(
        (values,), np.median, method="percentile", n_resamples=2000, rng=np.random.default_rng(7)
    ).confidence_interval
    assert (low, high) == pytest.approx((direct.low, direct.high))
    assert low <= np.median(values) <= high


def test_average_ranks_and_friedman_agree_with_scipy():
    scores = pd.DataFrame(
        {"a": [1.0, 2.0, 1.0, 1.0], "b": [2.0, 1.0, 3.0, 2.0], "c": [3.0, 3.0, 2.0, np.inf]},
        index=["p1", "p2", "p3", "p4"],
    )
    ranks, statistic, p, problems = average_ranks(scores)
    assert ranks.tolist() == [1.25, 2.0, 2.75] and problems == ["p1", "p2", "p3", "p4"]
    expected = scipy.stats.friedmanchisquare([1, 2, 1, 1], [2, 1, 3, 2], [3, 3, 2, 3])
    assert statistic == pytest.approx(expected.statistic) and p == pytest.approx(expected.pvalue)


def _runs_and_traces(rows):
    """Runs and traces from {run_id: (problem, config, f_opt, [(nfev, loss), ...])}."""
    runs = pd.DataFrame(
        [
            {"run_id": r, "problem": p, "config": c, "optimizer": c, "seed": 0, "f_opt": f}
            for r, (p, c, f, _) in rows.items()
        ]
    )
    traces = pd.DataFrame(
        [
            {"run_id": r, "step": i, "nfev": n, "njev": n, "epochs": float(n), "time_s": 0.1 * n, "loss": loss}
            for r, (_, _, _, trace) in rows.items()
            for i, (n, loss) in enumerate(trace)
        ]
    )
    traces["best_loss"] = traces.groupby("run_id")["loss"].cummin()
    return runs, traces


def test_hitting_times_by_hand_with_precision_and_tau_targets():
    runs, traces = _runs_and_traces(
        {
            # known optimum 1.0: gap 9, 0.5 (a worse point at 3), 0.05, then 0.0005
            "r1": ("known", "a", 1.0, [(1, 10.0), (2, 1.5), (3, 4.0), (4, 1.05), (5, 1.0005)]),
            # unknown optimum: f0 = 10; the best any run found on it is 2 (f_L)
            "r2": ("unknown", "a", np.nan, [(1, 10.0), (3, 6.0), (6, 2.5)]),
            "r3": ("unknown", "b", np.nan, [(1, 10.0), (2, 2.0)]),
        }
    )
    table = targets(runs, traces, precisions=[1.0, 0.1, 1e-3, 1e-5], taus=[0.5, 0.1])
    hits = hitting_times(runs, traces, "evals", table).set_index(["run_id", "level"])
    assert hits.loc[("r1", 1.0), "cost"] == 2 and hits.loc[("r1", 0.1), "cost"] == 4
    assert hits.loc[("r1", 1e-3), "cost"] == 5 and not hits.loc[("r1", 1e-5), "hit"]
    assert hits.loc[("r1", 1e-5), "spent"] == 5
    # tau = 0.5: loss <= 2 + 0.5 * (10 - 2) = 6; tau = 0.1: loss <= 2.8
    assert hits.loc[("r2", 0.5), "cost"] == 3 and hits.loc[("r2", 0.1), "cost"] == 6
    assert hits.loc[("r3", 0.1), "cost"] == 2
    in_time = hitting_times(runs, traces, "time", table).set_index(["run_id", "level"])
    assert in_time.loc[("r2", 0.1), "cost"] == pytest.approx(0.6)


def test_best_loss_at_budgets_by_hand():
    runs, traces = _runs_and_traces({"r": ("p", "a", 0.0, [(1, 5.0), (4, 3.0), (9, 4.0), (10, 1.0)])})
    table = best_at_budgets(runs, traces, [0.5, 1, 5, 9.5, 100], "evals")
    assert table["best_loss"].tolist()[1:] == [5.0, 3.0, 3.0, 1.0] and np.isnan(table["best_loss"].iloc[0])


def test_thinned_traces_keep_every_precision_crossing_exactly():
    rng = np.random.default_rng(0)
    n, f_opt = 20_000, 0.25
    loss = f_opt + np.exp(-np.linspace(0, 30, n)) * 50 * (1 + 0.3 * rng.random(n))
    best = np.fmin.accumulate(loss)
    kept = kept_rows(best, f_opt)
    assert len(kept) < 600
    exact = first_reached(best, f_opt + PRECISIONS)
    thinned = kept[first_reached(best[kept], f_opt + PRECISIONS)[exact < n]]
    assert np.array_equal(thinned, exact[exact < n])


def test_tau_hitting_times_in_thinned_traces_are_within_the_documented_resolution():
    # Without a known optimum the thinned trace keeps ~500 rows; a crossing at row j is
    # found at most (n-1)/249 + 1 rows and (j+1)(n**(1/249) - 1) + 1 rows late.
    for n in (600, 5_000, 50_000):
        kept = thin_index(n)
        for j in range(0, n, 7):
            found = kept[np.searchsorted(kept, j)]
            late = found - j
            assert late <= (n - 1) / 249 + 1
            assert late <= (j + 1) * (n ** (1 / 249) - 1) + 1


def test_instance_costs_put_misses_at_infinity():
    hits = pd.DataFrame(
        {"problem": "p", "seed": [0, 1, 0, 1], "config": ["a", "a", "b", "b"], "kind": "precision",
         "level": 1e-6, "hit": [True, False, True, True], "cost": [3.0, np.nan, 5.0, 2.0], "spent": 9.0}
    )  # fmt: skip
    costs = instance_costs(hits, 1e-6)
    assert costs.loc["a"].tolist() == [3.0, np.inf] and costs.loc["b"].tolist() == [5.0, 2.0]


def test_average_ranks_leave_out_what_keeps_the_larger_complete_table():
    scores = pd.DataFrame(
        {"a": [1.0, 1.0, 2.0], "b": [2.0, 3.0, 1.0], "c": [3.0, 2.0, 3.0], "d": [0.5, np.nan, np.nan]},
        index=["p1", "p2", "p3"],
    )
    ranks, _, _, problems = average_ranks(scores)  # dropping d keeps 3 x 3 cells; dropping p2, p3 only 1 x 4
    assert list(ranks.index) == ["a", "b", "c"] and problems == ["p1", "p2", "p3"]
    assert ranks.tolist() == pytest.approx([4 / 3, 2.0, 8 / 3])


def test_a_streamed_trace_keeps_what_thinning_promises_in_bounded_memory():
    # A million steps in the loop's chunks: the buffer never holds more than a few
    # thousand rows, and the kept rows are exact where they must be (issue 11: a run of
    # 10**8 steps kept every step in memory, 9.7 GB).
    rng = np.random.default_rng(1)
    n, chunk, f_opt, max_rows = 1_000_000, 4992, 0.25, 500
    loss = f_opt + np.exp(-np.linspace(0, 25, n)) * 50 * (1 + 0.3 * rng.random(n))
    loss[rng.integers(0, n, 50)] = np.nan  # a few NaN losses do not break best_loss
    target = f_opt + 1e-3
    trace, held = StreamedTrace(f_opt, target, max_rows=max_rows), 0
    for start in range(0, n, chunk):
        rows = slice(start, start + chunk)
        steps = np.arange(n)[rows]
        trace.add({"loss": loss[rows], "nfev": steps + 1, "njev": steps, "time_s": steps * 1e-6})
        held = max(held, sum(len(p["step"]) for p in trace.parts))
    kept = trace.finish({})
    assert held <= 4 * max_rows + chunk and len(kept) < 800
    best = np.fmin.accumulate(loss)
    assert np.array_equal(kept["best_loss"].to_numpy(), best[kept["step"]])  # the best over every row
    exact = first_reached(best, f_opt + PRECISIONS)
    assert set(exact[exact < n]) <= set(kept["step"])  # every precision crossing, exactly
    assert trace.at_target == (float(np.argmax(loss <= target) + 1), float(np.argmax(loss <= target) * 1e-6))
    steps = kept["step"].to_numpy()
    for j in range(0, n, 997):  # the documented resolution of a tau target's hitting time
        late = steps[np.searchsorted(steps, j)] - j
        assert late <= 2 * n / (max_rows // 2) and late <= (j + 1) * (10 ** (1 / 60) - 1) + 1
