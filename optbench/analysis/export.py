"""Export stored runs to the formats other tools read: CSV, Parquet, IOHprofiler's and
COCO's (``optbench.analysis.coco_export``, for runs on BBOB problems).

IOHprofiler's format (read by IOHanalyzer and IOHinspector): per optimizer configuration a
folder, per problem a JSON index ``IOHprofiler_f<id>_<problem>.json`` and a data file
``data_f<id>_<problem>/IOHprofiler_f<id>_DIM<n>.dat`` holding, per run, a header line
``evaluations raw_y`` and one line per recorded evaluation count with the loss. Format:
https://iohprofiler.github.io/IOHanalyzer/data/ (version 0.3 JSON).
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from optbench.analysis.targets import finished, run_slices
from optbench.errors import OptbenchError
from optbench.spec import file_name
from optbench.store.connection import output_refusal

FORMATS = ("csv", "parquet", "ioh", "coco")


def export(
    runs: pd.DataFrame, traces: pd.DataFrame, fronts: pd.DataFrame, fmt: str, output: Path, db: str | None = None
) -> list[Path]:
    """Write the runs, their traces and fronts into the folder ``output`` in format
    ``fmt``; returns the files written. Everything is written into a temporary folder
    first and moved into place at the end, so a failure leaves no half export; a file
    that would replace the database ``db`` (or any SQLite file), or land on a folder, is
    refused before anything is moved."""
    if fmt not in FORMATS:
        raise OptbenchError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if output.exists() and not output.is_dir():
        raise OptbenchError(f"export output {str(output)!r} is a file; give a folder")
    writer = {"csv": _tables, "parquet": _tables, "ioh": _ioh, "coco": _coco}[fmt]
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=output.parent, prefix=f".{output.name}.") as scratch:
            written = writer(runs, traces, fronts, Path(scratch), fmt)
            targets = [output / path.relative_to(scratch) for path in written]
            for target in targets:
                _check_target(target, db)
            output.mkdir(exist_ok=True)
            for path, target in zip(written, targets):
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(path, target)
            return targets
    except OSError as err:
        raise OptbenchError(f"cannot write the export to {str(output)!r}: {err.strerror or err}") from None


def _check_target(target: Path, db: str | None) -> None:
    """An export file may replace an earlier export's, never a folder or a database."""
    refusal = output_refusal(target, db)
    if refusal is not None:
        raise OptbenchError(f"cannot export: {str(target)!r} {refusal}; give another --output folder")


def _tables(runs: pd.DataFrame, traces: pd.DataFrame, fronts: pd.DataFrame, folder: Path, fmt: str) -> list[Path]:
    fronts = fronts.assign(x=[json.dumps(np.asarray(x).tolist()) for x in fronts["x"]]) if len(fronts) else fronts
    tables = {"runs": runs, "traces": traces[traces["run_id"].isin(runs["run_id"])], "fronts": fronts}
    written = []
    for name, table in tables.items():
        path = folder / f"{name}.{fmt}"
        if fmt == "csv":
            table.to_csv(path, index=False)
        else:
            try:
                table.to_parquet(path, index=False)
            except ImportError:
                raise OptbenchError("Parquet export needs pyarrow: pip install pyarrow") from None
        written.append(path)
    return written


def _coco(runs: pd.DataFrame, traces: pd.DataFrame, fronts: pd.DataFrame, folder: Path, fmt: str) -> list[Path]:
    from optbench.analysis.coco_export import write_coco

    return write_coco(runs, traces, folder)


def _ioh(runs: pd.DataFrame, traces: pd.DataFrame, fronts: pd.DataFrame, folder: Path, fmt: str) -> list[Path]:
    runs, traces = finished(runs, traces)
    if runs.empty:
        raise OptbenchError("no finished runs with a trace to export (every run was skipped or failed)")
    function_ids = {p: i + 1 for i, p in enumerate(sorted(set(runs["problem"])))}
    where = run_slices(traces)
    nfev, loss = traces["nfev"].to_numpy(dtype=np.int64), traces["loss"].to_numpy(dtype=float)
    written = []
    for (config, problem), group in runs.groupby(["config", "problem"], sort=False):
        fid, name = function_ids[problem], file_name(problem)
        base = folder / file_name(config)
        n = int(group["n_params"].max()) if group["n_params"].notna().any() else _n_from_x(group)
        data = Path(f"data_f{fid}_{name}") / f"IOHprofiler_f{fid}_DIM{n}.dat"
        (base / data).parent.mkdir(parents=True, exist_ok=True)
        entries = []
        with open(base / data, "w") as out:
            for run in group.itertuples():
                lines = _evaluations(nfev[where[run.run_id]], loss[where[run.run_id]])
                out.write("evaluations raw_y\n" + "".join(f"{e} {_float(y)}\n" for e, y in lines))
                best = min(lines, key=lambda pair: (pair[1], pair[0]))
                # The point is stored for the end of a run only: given where the best was there.
                at_end = isinstance(run.x, str) and best[1] == run.fun
                entries.append(
                    {
                        "instance": 1,
                        "evals": int(lines[-1][0]),
                        "best": {
                            "evals": int(best[0]),
                            "y": _float_json(best[1]),
                            "x": _flatten(json.loads(run.x)) if at_end else [],
                        },
                        "seed": int(run.seed),
                        "run_id": run.run_id,
                    }
                )
        index = {
            "version": "0.3.5",
            "suite": "optbench",
            "function_id": fid,
            "function_name": problem,
            "maximization": False,
            "algorithm": {"name": config, "info": f"optbench {group['version'].iloc[0]}"},
            "attributes": ["evaluations", "raw_y"],
            "experiment_attributes": [
                {"budget": group["budget_label"].iloc[0]},
                {"f_opt": _float_json(group["f_opt"].iloc[0])},
            ],
            "scenarios": [{"dimension": n, "path": str(data), "runs": entries}],
        }
        path = base / f"IOHprofiler_f{fid}_{name}.json"
        path.write_text(json.dumps(index, indent=1))
        written += [path, base / data]
    return written


def _evaluations(nfev: np.ndarray, loss: np.ndarray) -> list[tuple[int, float]]:
    """A run's (evaluations, loss) lines: one per evaluation count, the lowest loss seen at
    it. IOH readers start a run at evaluation 1, so a run whose first recorded count is
    higher begins with ``1 inf`` (its loss is known only after that many evaluations)."""
    frame = pd.DataFrame({"nfev": np.maximum(nfev, 1), "loss": np.where(np.isnan(loss), np.inf, loss)})
    per_count = frame.groupby("nfev", sort=True)["loss"].min()
    lines = list(zip(per_count.index.tolist(), per_count.tolist()))
    return lines if lines[0][0] == 1 else [(1, math.inf), *lines]


def _float(value: float) -> str:
    return "inf" if value == math.inf else repr(float(value))


def _float_json(value: float) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def _n_from_x(group: pd.DataFrame) -> int:
    for x in group["x"].dropna():
        return int(np.asarray(_flatten(json.loads(x)), dtype=float).size)
    return 0


def _flatten(value: object) -> list[float]:
    if isinstance(value, dict):
        return [v for item in value.values() for v in _flatten(item)]
    if isinstance(value, list):
        return [v for item in value for v in _flatten(item)]
    return [float(value)]  # type: ignore[arg-type]
