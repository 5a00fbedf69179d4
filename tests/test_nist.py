"""NIST StRD: data conversion, certified values and the LRE accuracy score."""

import importlib.util
import json
import math

import numpy as np
import pytest
from helpers import REPO

from optbench.errors import SpecError
from optbench.metrics import lre
from optbench.registry import REGISTRY

NIST_DIR = REPO.parent / "shared" / "nist-strd"
NAMES = sorted(json.loads((REPO / "problems" / "nist_strd.json").read_text()))


def test_all_27_problems_with_both_starts():
    assert len(NAMES) == 27
    for name in NAMES:
        first, second = REGISTRY.problem(f"nist_{name}"), REGISTRY.problem(f"nist_{name}[start=2]")
        assert first.dtype == "float64" and "residuals" in first.capabilities
        assert not np.array_equal(first.init_params(None), second.init_params(None))
        np.testing.assert_array_equal(second.init_params(None), second.starts["start2"])
    with pytest.raises(SpecError, match="parameter .start. must be from 1 to 2, got 3"):
        REGISTRY.problem("nist_misra1a[start=3]").metrics  # noqa: B018


@pytest.mark.parametrize(
    "estimate, certified, expected",
    [
        (1.0001, 1.0, 4.0),  # -log10(1e-4)
        (123.456, 123.0, -math.log10(0.456 / 123.0)),
        (-2.000002, -2.0, 6.0),
        (2.0, 1.0, 0.0),  # off by 100%: floored at 0
        (5.0, 1.0, 0.0),  # off by more: still 0
        (1.0, 1.0, 11.0),  # exact: capped at 11
        (float("nan"), 1.0, 0.0),
    ],
)
def test_lre_against_hand_computed_values(estimate, certified, expected):
    assert float(lre(estimate, certified)) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_certified_parameters_reproduce_the_certified_rss(name):
    problem = REGISTRY.problem(f"nist_{name}")
    scores = {k: float(v) for k, v in problem.metrics(problem.x_opt).items()}
    assert scores["lre"] == 11.0
    if name == "lanczos1":  # its certified RSS (1.4e-25) is below what float64 residuals resolve
        assert float(problem.value(problem.x_opt)) * len(problem.data[1]) < 1e-20
    else:
        assert scores["lre_rss"] >= 10.0
        assert problem.f_opt == pytest.approx(float(problem.value(problem.x_opt)), rel=1e-9)


@pytest.mark.skipif(not NIST_DIR.is_dir(), reason="NIST's .dat files are not beside the repository")
def test_the_converter_reproduces_the_committed_numbers(tmp_path):
    spec = importlib.util.spec_from_file_location("convert_nist", REPO / "scripts" / "convert_nist.py")
    convert = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(convert)
    convert.main(str(NIST_DIR), str(tmp_path / "out.json"))
    committed = json.loads((REPO / "problems" / "nist_strd.json").read_text())
    assert json.loads((tmp_path / "out.json").read_text()) == committed
    with pytest.raises(ValueError, match="not a NIST StRD"):
        convert.parse("Model: y = b1\n")


def test_lre_is_stored_with_each_run(db):
    import optbench

    runs, _ = optbench.run(["nist_misra1a[start=2]"], ["adam"], db=db, max_steps=50)
    assert {"lre", "lre_rss"} <= set(runs.columns)
    stored, _ = optbench.load_results(db)
    assert stored["lre"].iloc[0] == runs["lre"].iloc[0] and 0 <= stored["lre"].iloc[0] <= 11


def test_nist_summary_counts_cases_by_median_lre_over_seeds():
    import pandas as pd

    from optbench.analysis.tables import nist_summary, summary

    rows = [
        # optimizer, problem, seed, lre, status
        ("lm", "nist_a", 0, 9.0, "converged"),
        ("lm", "nist_a", 1, 7.0, "converged"),  # median 8.0: counts for 4, 6 and 8
        ("lm", "nist_a[start=2]", 0, 6.5, "converged"),
        ("lm", "nist_b", 0, None, "failed"),  # a failure scores 0
        ("gd", "nist_a", 0, 4.2, "max_steps"),
        ("gd", "nist_b", 0, 1.0, "max_steps"),
        ("gd", "linear", 0, None, "max_steps"),  # not NIST: ignored
    ]
    runs = pd.DataFrame(rows, columns=["optimizer", "problem", "seed", "lre", "status"])
    runs["problem_name"] = runs["problem"].str.split("[").str[0]
    table = nist_summary(runs).set_index("optimizer")
    assert table.loc["lm"].to_dict() == {"cases": 3, "lre_ge_4": 2, "lre_ge_6": 2, "lre_ge_8": 1, "lre_median": 6.5}
    assert table.loc["gd"][["cases", "lre_ge_4", "lre_ge_6"]].tolist() == [2, 1, 0]
    for column in ("fun", "f_opt", "nfev", "time_s", "nfev_to_target", "time_to_target", "compile_s", "success"):
        runs[column] = 1.0
    assert summary(runs).set_index(["problem", "optimizer"]).loc[("nist_a", "lm"), "lre_median"] == 8.0
