"""Precision targets relative to a problem's scale: NIST's optima span 6e-27 (lanczos1) to
586 (rat43), so an absolute f - f_opt <= 1 is met at the start of one and is six digits of
another. A problem's ``target_scale`` s makes its targets f - f_opt <= delta * s."""

import json

import numpy as np
import pandas as pd
import pytest
from helpers import REPO

import optbench
from optbench.analysis.targets import targets
from optbench.analysis.views import Comparison
from optbench.errors import OptbenchError
from optbench.registry import REGISTRY


def _record(name):
    return json.loads((REPO / "problems" / "nist_strd.json").read_text())[name]


def test_nist_targets_are_relative_to_the_certified_optimum():
    rat43 = REGISTRY.problem("nist_rat43")
    record = _record("rat43")
    assert rat43.target_scale == pytest.approx(record["certified_rss"] / len(record["columns"]["y"]), rel=1e-15)
    assert rat43.target_scale == rat43.f_opt  # 586: 1e-6 is six digits of the loss


def test_where_the_optimum_is_rounding_the_scale_is_the_datas_variance():
    lanczos1 = REGISTRY.problem("nist_lanczos1")
    y = np.asarray(_record("lanczos1")["columns"]["y"])
    by_hand = 1e-8 * np.mean((y - y.mean()) ** 2)  # 4.4e-9, far above the certified 6e-27
    assert lanczos1.f_opt < 1e-26 and lanczos1.target_scale == pytest.approx(by_hand, rel=1e-12)


def test_curve_fits_and_bbob_keep_cocos_absolute_targets():
    assert REGISTRY.problem("quadratic").target_scale is None
    assert REGISTRY.problem("bbob_f1").target_scale is None


def _table(scale):
    runs = pd.DataFrame(
        {"run_id": ["r"], "problem": ["p"], "optimizer": ["lm"], "params": ["{}"], "seed": [0], "f_opt": [586.0]}
        | ({} if scale is None else {"target_scale": [scale]})
    )
    traces = pd.DataFrame({"run_id": ["r"] * 2, "step": [0, 1], "loss": [900.0, 586.01], "best_loss": [900.0, 586.01]})
    return runs, traces


@pytest.mark.parametrize("scale", [None, np.nan])
def test_without_a_scale_targets_are_absolute(scale):
    runs, traces = _table(scale)
    table = targets(runs, traces, "precision", precisions=[1e-2, 1e-6])
    assert table["target"].tolist() == [586.0 + 1e-2, 586.0 + 1e-6]


def test_a_scale_multiplies_every_precision():
    runs, traces = _table(586.0)
    table = targets(runs, traces, "precision", precisions=[1e-2, 1e-6])
    assert table["target"].tolist() == pytest.approx([586.0 + 5.86, 586.0 + 586e-6], rel=1e-15)


def test_a_nist_comparison_says_its_targets_are_relative():
    runs, traces = optbench.run(["nist_rat43", "nist_misra1a"], "lm", max_steps=50)
    assert runs.set_index("problem")["target_scale"].to_dict() == pytest.approx(
        {"nist_rat43": REGISTRY.problem("nist_rat43").f_opt, "nist_misra1a": REGISTRY.problem("nist_misra1a").f_opt}
    )
    note = Comparison(runs, traces).reference_note()
    assert "relative precision targets on nist_misra1a, nist_rat43" in note
    # lm reaches rat43 to 1e-6 relative (586.0 + 5.9e-4), not only to an absolute 1e-6
    hits = Comparison(runs, traces).at_level()
    rat43 = hits[hits["problem"] == "nist_rat43"].iloc[0]
    assert rat43["target"] == pytest.approx(REGISTRY.problem("nist_rat43").f_opt * (1 + 1e-6), rel=1e-15)


def test_a_bbob_comparison_has_no_such_note():
    runs, traces = optbench.run("bbob_f1[dim=2]", "nelder_mead", max_steps=20)
    assert "relative" not in Comparison(runs, traces).reference_note()


@pytest.mark.parametrize("scale", [0.0, -1.0, float("inf"), "big"])
def test_a_target_scale_must_be_a_positive_number(scale):
    with pytest.raises(OptbenchError, match="target_scale"):
        optbench.Problem("p", loss=lambda p: p**2, init=1.0, target_scale=scale)


def test_describe_shows_a_relative_scale(capsys):
    from optbench.cli import main

    assert main(["describe", "nist_rat43"]) == 0
    assert "precision targets: relative, f - f_opt <= delta x 585.8" in capsys.readouterr().out
    assert main(["describe", "quadratic"]) == 0
    assert "precision targets" not in capsys.readouterr().out
