"""The analysis at scale: every ERT and profile of a NIST-sized comparison beside a plain
per-run loop, and the HTML report of 5,000 stored runs beside loading them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from timing import best_time, report

import optbench
from optbench.analysis import ert, hitting_times, instance_costs, profile_score, targets
from optbench.drive.trace import PRECISIONS


def _nist_sized(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """540 runs (54 problems x 10 optimizers x 1 seed), as the nist suite stores them:
    traces of 5 to 500 rows (thinned runs keep about 500), a known optimum each."""
    rng = np.random.default_rng(seed)
    runs, traces = [], []
    for p in range(54):
        f_opt = float(rng.uniform(1e-3, 1e3))
        for o in range(10):
            run_id = f"{p:02d}-{o}"
            n = int(rng.integers(5, 500))
            rate = rng.uniform(0.01, 0.5)
            loss = f_opt + f_opt * 10 * np.exp(-rate * np.arange(n)) + rng.choice([0.0, 1e-9 * f_opt])
            runs.append({"run_id": run_id, "problem": f"p{p}", "config": f"o{o}", "optimizer": f"o{o}",
                         "seed": 0, "f_opt": f_opt})  # fmt: skip
            nfev = np.cumsum(rng.integers(1, 4, n))
            traces.append(pd.DataFrame({"run_id": run_id, "step": np.arange(n), "nfev": nfev, "loss": loss}))
    traces = pd.concat(traces, ignore_index=True)
    traces["best_loss"] = traces.groupby("run_id")["loss"].cummin()
    return pd.DataFrame(runs), traces


def _vectorized(runs: pd.DataFrame, traces: pd.DataFrame) -> tuple[pd.DataFrame, list[pd.Series]]:
    hits = hitting_times(runs, traces, "evals")
    return ert(hits), [profile_score(instance_costs(hits, level)) for level in PRECISIONS]


def _plain_loop(runs: pd.DataFrame, traces: pd.DataFrame) -> dict:
    """The same numbers, one run and one target at a time in Python."""
    table = targets(runs, traces)
    by_run = {rid: t for rid, t in traces.groupby("run_id")}
    rows = []
    for row in table.itertuples():
        trace = by_run[row.run_id]
        reached = trace[trace["best_loss"] <= row.target]
        rows.append((row.run_id, row.level, reached["nfev"].iloc[0] if len(reached) else None, trace["nfev"].max()))
    return {"rows": len(rows)}


def test_every_ert_and_profile_of_a_nist_sized_comparison(benchmark):
    runs, traces = _nist_sized()
    erts, scores = _vectorized(runs, traces)
    assert len(erts) == 540 * 51 and len(scores) == 51
    benchmark.pedantic(lambda: _vectorized(runs, traces), rounds=3, iterations=1)
    report(
        benchmark,
        "every ERT (540 runs x 51 targets) and 51 profile scores, vectorized vs a per-run-and-target loop",
        best_time(lambda: _vectorized(runs, traces), 3),
        best_time(lambda: _plain_loop(runs, traces), 1),
        "well under a second; faster than the loop",
    )


@pytest.fixture(scope="module")
def five_thousand(tmp_path_factory):
    """5,040 stored runs with traces: 5 curve fits x 21 learning rates x 48 seeds."""
    db = tmp_path_factory.mktemp("big") / "runs.sqlite"
    grids = [f"{name}[learning_rate=logspace(-3,-0.5,7)]" for name in ("gd", "momentum", "adam")]
    problems = ["linear", "quadratic", "sinusoidal", "linear[n=200]", "quadratic[n=50]"]
    optbench.run(problems, grids, seeds=48, max_steps=300, db=db)
    return db


def test_report_of_five_thousand_runs_beside_loading_them(benchmark, five_thousand, tmp_path):
    from optbench.cli import main

    output = tmp_path / "report.html"
    write = lambda: main(["report", "--db", str(five_thousand), "--output", str(output)])
    assert write() == 0
    load = lambda: optbench.load_results(five_thousand)
    assert len(load().runs) == 5040
    benchmark.pedantic(write, rounds=1, iterations=1)
    report(
        benchmark,
        f"optbench report of 5,040 runs ({output.stat().st_size / 1e6:.1f} MB of HTML) vs load_results",
        best_time(write, 1),
        best_time(load, 3),
        "state it",
    )
