"""Runs on COCO's BBOB problems in COCO's data format, the one COCO's ``cocoex`` logger
writes and its post-processing ``cocopp`` reads (format ``bbob-new2``).

Per optimizer configuration a folder (the algorithm), in it per BBOB function an index
``bbobexp_f<k>.info`` and per dimension the data ``data_f<k>/bbobexp_f<k>_DIM<d>.dat``
and ``.tdat``. The index has, per dimension, a header line, a comment and the data file
followed by one ``instance:evaluations|final precision`` entry per trial (run). The data
files hold per trial a ``%`` header line, then lines ``evaluations 0 precision best best``
where precision is ``best loss - f_opt``: the ``.dat`` at each improvement of the best
loss (so every target's first hitting time is exact), the ``.tdat`` at every recorded
evaluation count; both end at the run's last evaluation, its cost when it reaches no
target. COCO's points x are not stored per evaluation here, so lines hold none.

Reference: the COCO platform, https://github.com/numbbo/coco (``code-experiments/src/
logger_bbob.c``, which writes this format, and ``cocopp/pproc.py``, which reads it).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

import optbench  # its __version__, read when a run is stamped
from optbench.analysis.targets import finished, run_slices
from optbench.errors import OptbenchError
from optbench.external.bbob import parse_name
from optbench.spec import file_name

HEADER = (
    "% f evaluations | g evaluations | best noise-free fitness - Fopt ({f_opt:.12e}) + sum g_i+ | "
    "measured fitness | best measured fitness or single-digit g-values | x1 | x2...\n"
)
PRECISION = 1e-8  # COCO's final target, recorded in the index


def write_coco(runs: pd.DataFrame, traces: pd.DataFrame, folder: Path) -> list[Path]:
    """Write the finished runs on BBOB problems into ``folder``; returns the files written."""
    runs, traces = finished(runs, traces)
    ids = {spec: parse_name(spec) for spec in runs["problem"].unique()}
    runs = runs[runs["problem"].map(lambda spec: ids[spec] is not None) & runs["f_opt"].notna()]
    if runs.empty:
        raise OptbenchError(
            "COCO's format holds runs on COCO's BBOB problems (bbob_f1 ... bbob_f24); none of the selected "
            "finished runs is on one"
        )
    keys = pd.DataFrame([ids[spec] for spec in runs["problem"]], columns=["function", "dim", "instance"])
    runs = pd.concat([runs.reset_index(drop=True), keys], axis=1)
    where = run_slices(traces)
    nfev, best = traces["nfev"].to_numpy(dtype=np.int64), traces["best_loss"].to_numpy(dtype=float)
    written = []
    for (config, function), algorithm in runs.groupby(["config", "function"], sort=True):
        base = folder / file_name(config)
        info = []
        for dim, trials in algorithm.groupby("dim", sort=True):
            data = Path(f"data_f{function}") / f"bbobexp_f{function}_DIM{dim}"
            (base / data).parent.mkdir(parents=True, exist_ok=True)
            entries = []
            with open(base / f"{data}.dat", "w") as dat, open(base / f"{data}.tdat", "w") as tdat:
                for run in trials.sort_values(["instance", "seed"]).itertuples():
                    rows = where[run.run_id]
                    evals, losses = np.maximum(nfev[rows], 1), np.fmin.accumulate(best[rows])
                    header = HEADER.format(f_opt=run.f_opt)
                    dat.write(header + "".join(_lines(evals, losses, run.f_opt, improvements=True)))
                    tdat.write(header + "".join(_lines(evals, losses, run.f_opt, improvements=False)))
                    entries.append(f"{run.instance}:{int(evals.max())}|{losses[-1] - run.f_opt:.1e}")
            info.append(
                f"suite = 'bbob', funcId = {function}, DIM = {dim}, Precision = {PRECISION:.3e}, "
                f"algId = '{_quoted(config)}', coco_version = 'optbench {optbench.__version__}', logger = 'bbob', "
                f"data_format = 'bbob-new2'\n"
                f"% optbench {optbench.__version__}, budget {algorithm['budget_label'].iloc[0]}\n"
                f"{data}.dat, {', '.join(entries)}\n"
            )
            written += [base / f"{data}.dat", base / f"{data}.tdat"]
        path = base / f"bbobexp_f{function}.info"
        path.write_text("".join(info))
        written.append(path)
    return written


def _lines(evals: np.ndarray, best: np.ndarray, f_opt: float, improvements: bool) -> Iterator[str]:
    """A trial's lines: at the first row and each later one whose best loss is lower (the
    ``.dat``), or at each new evaluation count (the ``.tdat``), and at the last evaluation."""
    # .tdat: the last row of each evaluation count.
    keep = np.r_[True, best[1:] < best[:-1]] if improvements else np.r_[evals[1:] != evals[:-1], True]
    keep[-1] = keep[-1] or evals[-1] > evals[keep].max()
    for e, b in zip(evals[keep], best[keep]):
        yield f"{int(e)} 0 {b - f_opt:+.16e} {b:+.16e} {b:+.16e}\n"


def _quoted(text: str) -> str:
    return text.replace("'", "")
