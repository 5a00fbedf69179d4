"""The results store: an SQLite database of runs, traces and Pareto fronts.

``schema`` holds the tables and how a file is recognised, ``connection`` how one is opened
safely, ``results`` the ``ResultStore`` that writes runs and reads them back with pandas.
"""

from optbench.store.results import DEFAULT_DB, MAX_STORED_PARAMS, Results, ResultStore, load_fronts, load_results
from optbench.store.schema import DERIVED_COLUMNS, RUN_COLUMNS

__all__ = [
    "DEFAULT_DB",
    "DERIVED_COLUMNS",
    "MAX_STORED_PARAMS",
    "RUN_COLUMNS",
    "ResultStore",
    "Results",
    "load_fronts",
    "load_results",
]
