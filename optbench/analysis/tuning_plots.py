"""The sensitivity figure of a tuning: every trial's final loss against each hyperparameter
tuned, the selected trials starred and the diverged ones crossed at the top."""

from __future__ import annotations

import json
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from optbench.analysis.tick_labels import plain_powers
from optbench.errors import OptbenchError

_LOST = ("diverged", "failed")


def sensitivity_figure(frame: pd.DataFrame, problem: str) -> Any:
    """One row of panels per optimizer tuned on ``problem`` (``frame``: a tuning's runs with
    their roles, ``optbench.tuning.study.with_roles``), one panel per hyperparameter it
    tuned: each trial's final loss (``loss - f_opt`` where the optimum is known) against
    the trial's value, coloured by study; a star on each study's selection, a cross on the
    top edge for a trial that diverged or failed. Where the loss is flat the space was
    too narrow or the budget too short to tell; where the stars sit on an edge, the range
    may be too narrow."""
    mine = frame[(frame["problem"] == problem) & (frame["role"].isin(["trial", "tuned"]))]
    tuned_rows = mine[mine["role"] == "tuned"]
    trials = mine[(mine["role"] == "trial") & (mine["status"] != "skipped")]
    optimizers = [
        o
        for o in dict.fromkeys(trials["tuned_optimizer"])
        if trials.loc[trials["tuned_optimizer"] == o, "tuned"].iloc[0]
    ]
    if not optimizers:
        raise OptbenchError(f"no tuning of {problem!r} searched a hyperparameter: nothing to show")
    names = {o: list(trials.loc[trials["tuned_optimizer"] == o, "tuned"].iloc[0]) for o in optimizers}
    columns = max(len(n) for n in names.values())
    fig, axes = plt.subplots(
        len(optimizers), columns, figsize=(4.2 * columns, 3.3 * len(optimizers)), layout="constrained", squeeze=False
    )
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for row, optimizer in enumerate(optimizers):
        runs = trials[trials["tuned_optimizer"] == optimizer]
        params = [json.loads(p) for p in runs["params"]]
        f_opt = runs["f_opt"].astype(float)
        loss = runs["fun"].astype(float) - (f_opt.fillna(0.0) if f_opt.notna().all() else 0.0)
        lost = runs["status"].isin(_LOST).to_numpy() | ~np.isfinite(loss.to_numpy())
        positive = bool((loss[~lost] > 0).all()) and (~lost).any()
        top = (loss[~lost].max() * 10 if positive else loss[~lost].max()) if (~lost).any() else 1.0
        selected = tuned_rows[tuned_rows["tuned_optimizer"] == optimizer]
        chosen = {
            (int(s), json.dumps(json.loads(p), sort_keys=True)) for s, p in zip(selected["study"], selected["params"])
        }
        for column in range(columns):
            ax = axes[row][column]
            if column >= len(names[optimizer]):
                ax.axis("off")
                continue
            name = names[optimizer][column]
            values = np.array([float(p[name]) for p in params])
            for index, study in enumerate(sorted(set(runs["study"]))):
                at = (runs["study"] == study).to_numpy()
                color = colors[index % len(colors)]
                ax.plot(
                    values[at & ~lost], loss.to_numpy()[at & ~lost], "o", color=color, alpha=0.7, label=f"study {study}"
                )
                ax.plot(values[at & lost], [top] * int((at & lost).sum()), "x", color=color, ms=8, mew=2)
                picked = [i for i in np.flatnonzero(at & ~lost)
                          if (int(study), json.dumps(params[i], sort_keys=True)) in chosen]  # fmt: skip
                ax.plot(
                    values[picked], loss.to_numpy()[picked], "*", color=color, ms=16, mec="black", label="_selected"
                )
            ax.set_xscale("log" if (values > 0).all() and values.max() / values.min() > 10 else "linear")
            if positive:
                ax.set_yscale("log")
            ax.set_xlabel(name)
            ax.set_ylabel(f"{optimizer}: final loss" + (" - optimum" if f_opt.notna().all() else ""))
            ax.grid(True, which="major", alpha=0.3)
            if column == 0 and runs["study"].nunique() > 1:
                ax.legend(fontsize="small")
    fig.suptitle(f"{problem}: every trial of the tuning (star: a study's selection; x: diverged or failed)")
    return plain_powers(fig)
