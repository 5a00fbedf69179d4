"""Exports read back by the tools that read them: pandas (CSV), pyarrow (Parquet), and
IOHinspector (IOHprofiler's format), whose fixed-target numbers must equal optbench's."""

import functools
import warnings

import numpy as np
import pandas as pd
import pytest

import optbench
from optbench.analysis.fixed_target import ert
from optbench.analysis.selection import with_configs
from optbench.analysis.targets import hitting_times
from optbench.cli import main


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    db = tmp_path_factory.mktemp("export") / "runs.sqlite"
    # Every run that misses a target spends the same 200 evaluations: IOHinspector charges
    # a miss the largest budget, optbench the run's own cost, and here they agree.
    optbench.run(["quadratic"], ["gd", "adam[learning_rate=0.1]", "lm"], seeds=3, max_steps=200, db=db)
    optbench.run(["zdt1"], ["nsga2[pop_size=20]"], seeds=1, max_evals=200, db=db)
    return db


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_tables_round_trip(stored, tmp_path, fmt):
    assert main(["export", "--db", str(stored), "--format", fmt, "--output", str(tmp_path / "out")]) == 0
    # Exact floats: pandas' default CSV float parser may be one ulp off (seen with the pandas of
    # a GPU machine's image); its round-trip parser is exact, as Parquet is.
    read = functools.partial(pd.read_csv, float_precision="round_trip") if fmt == "csv" else pd.read_parquet
    runs, traces = optbench.load_results(stored)
    exported = read(tmp_path / "out" / f"runs.{fmt}").set_index("run_id")
    for column in ("problem", "optimizer", "seed", "status", "nfev", "fun", "budget"):
        assert exported[column].tolist() == runs.set_index("run_id").loc[exported.index, column].tolist()
    back = read(tmp_path / "out" / f"traces.{fmt}")
    assert len(back) == len(traces) and np.allclose(back["loss"], traces["loss"], equal_nan=True)
    fronts = read(tmp_path / "out" / f"fronts.{fmt}")
    assert len(fronts) == len(optbench.load_fronts(stored)) > 0


def test_iohinspector_reads_the_export_and_agrees_with_optbench_ert(stored, tmp_path):
    iohinspector = pytest.importorskip("iohinspector", reason="iohinspector checks the IOHprofiler export")
    from iohinspector.metrics import aggregate_running_time

    out = tmp_path / "ioh"
    assert main(["export", "--db", str(stored), "--format", "ioh", "--output", str(out), "-p", "quadratic"]) == 0
    manager = iohinspector.DataManager()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its own deprecation notices
        manager.add_folder(str(out))
        data = manager.load(monotonic=True, include_meta_data=True)
        runs, traces = optbench.load_results(stored)
        runs = with_configs(runs[runs["problem"] == "quadratic"])
        f_opt = float(runs["f_opt"].iloc[0])
        theirs = aggregate_running_time(data, f_min=f_opt + 1e-8, f_max=f_opt + 10.0, scale_f_log=True, eval_max=200)
    assert manager.n_runs == 9 and set(theirs["algorithm_name"]) == set(runs["config"])
    levels = np.unique(theirs["raw_y"].to_numpy())
    table = pd.DataFrame(
        [{"run_id": r, "kind": "absolute", "level": v, "target": v} for r in runs["run_id"] for v in levels]
    )
    ours = ert(hitting_times(runs, traces, "evals", table)).set_index(["config", "level"])
    theirs = theirs.set_index(["algorithm_name", "raw_y"])
    assert (ours["n_success"] > 0).any() and (ours["n_success"] < ours["n_runs"]).any()
    for key, row in theirs.iterrows():
        assert row["success_count"] == ours.loc[key, "n_success"]
        if np.isinf(ours.loc[key, "ert"]):
            assert not np.isfinite(row["ERT"])
        else:
            assert row["ERT"] == pytest.approx(ours.loc[key, "ert"], rel=1e-12)


def test_a_failed_export_leaves_nothing_behind(stored, tmp_path, capsys):
    blocker = tmp_path / "taken"
    blocker.write_text("a file where the export folder would go")
    assert main(["export", "--db", str(stored), "--format", "csv", "--output", str(blocker)]) == 2
    assert "is a file; give a folder" in capsys.readouterr().err
    assert blocker.read_text() == "a file where the export folder would go"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]
