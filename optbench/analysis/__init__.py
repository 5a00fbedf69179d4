"""Pure functions from stored runs and traces to tables and figures.

The fixed-target methodology (COCO, IOHprofiler, Dolan-Moré and Moré-Wild profiles,
AlgoPerf's score), the fixed-budget view and the statistics take the ``runs`` and
``traces`` DataFrames of ``optbench.load_results`` (or of ``optbench.run``)::

    runs, traces = optbench.load_results("results/optbench.sqlite")
    hits = hitting_times(runs, traces, cost="evals")  # one row per run and target
    ert(hits)                                         # expected running time per target
    costs = instance_costs(hits, level=1e-6)          # configs x (problem, seed)
    performance_profile(costs, taus=[1, 2, 4]), profile_score(costs)
"""

from optbench.analysis.fixed_budget import best_at_budgets, fixed_budget_summary
from optbench.analysis.fixed_target import ert, runtime_ecdf
from optbench.analysis.profiles import data_profile, instance_costs, performance_profile, profile_score
from optbench.analysis.selection import filter_runs, with_configs
from optbench.analysis.stats import average_ranks, bootstrap_ci, holm, pairwise_tests
from optbench.analysis.tables import nist_summary, summary
from optbench.analysis.targets import hitting_times, targets

__all__ = [
    "average_ranks",
    "best_at_budgets",
    "bootstrap_ci",
    "data_profile",
    "ert",
    "filter_runs",
    "fixed_budget_summary",
    "hitting_times",
    "holm",
    "instance_costs",
    "nist_summary",
    "pairwise_tests",
    "performance_profile",
    "profile_score",
    "runtime_ecdf",
    "summary",
    "targets",
    "with_configs",
]
