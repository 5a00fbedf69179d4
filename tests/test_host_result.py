"""Both library bridges assemble a run's Result one way (drive.trace.host_result)."""

import math

import numpy as np
import pandas as pd

from optbench.drive.trace import host_result
from optbench.result import Status


def _trace(losses):
    n = len(losses)
    return pd.DataFrame(
        {"step": range(n), "nfev": [10 * (i + 1) for i in range(n)], "njev": 0, "epochs": 0.0,
         "time_s": [0.5 * i for i in range(n)], "loss": losses}
    )  # fmt: skip


def test_the_target_row_costs_success_and_a_non_finite_end_are_decided_once():
    result = host_result(
        _trace([5.0, 2.0, 0.9, 1.5, 0.5]), status=Status.CONVERGED, message="done", fun=0.5, target=1.0, f_opt=0.0,
        x=None, nit=4, nfev=50,
    )  # fmt: skip
    assert (result.nfev_to_target, result.time_to_target) == (30.0, 1.0)  # the first row at or below 1.0
    assert result.success and list(result.trace["best_loss"]) == [5.0, 2.0, 0.9, 0.9, 0.5]
    missed = host_result(_trace([5.0, 2.0]), status=Status.CONVERGED, message="", fun=2.0, target=1.0, f_opt=0.0,
                         x=None)  # fmt: skip
    assert not missed.success and math.isnan(missed.nfev_to_target)  # converged, but above the target
    for status in (Status.CONVERGED, Status.MAX_STEPS, Status.MAX_EVALS, Status.MAX_TIME, Status.MAX_EPOCHS):
        lost = host_result(_trace([np.inf, np.nan]), status=status, message="stop", fun=np.nan, target=None,
                           f_opt=None, x=None)  # fmt: skip
        assert lost.status is Status.DIVERGED and lost.message == "loss is not finite at the end (stop)"
