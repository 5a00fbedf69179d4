"""The post-hoc step after Friedman's test: Nemenyi's critical difference, against the
published example of Demšar, "Statistical comparisons of classifiers over multiple data
sets" (JMLR 7, 2006, sec. 3.2.2): four variants of C4.5 on 14 data sets, average ranks
3.143 (C4.5), 2.000 (+m), 2.893 (+cf) and 1.964 (+m+cf); CD = 1.25 at alpha 0.05 and 1.12
at alpha 0.10, where +m+cf is better than C4.5 (1.179 apart) and no other pair differs."""

import numpy as np
import pandas as pd
import pytest
from helpers import refused

import optbench
from optbench.analysis.stats import cliques, critical_difference
from optbench.cli import main

DEMSAR = pd.Series({"C4.5": 3.143, "C4.5+m": 2.000, "C4.5+cf": 2.893, "C4.5+m+cf": 1.964})


def test_nemenyis_critical_difference_is_demsars():
    assert round(critical_difference(4, 14, 0.05), 2) == 1.25
    assert round(critical_difference(4, 14, 0.10), 2) == 1.12
    # Demšar's table 5a, q_0.05 for k = 2..10: CD * sqrt(6 n / (k (k + 1))) with n = 6.
    published = [1.960, 2.343, 2.569, 2.728, 2.850, 2.949, 3.031, 3.102, 3.164]
    q = [critical_difference(k, 6) / np.sqrt(k * (k + 1) / 36) for k in range(2, 11)]
    np.testing.assert_allclose(q, published, atol=1.5e-3)


def test_the_bars_join_what_the_test_cannot_tell_apart():
    assert cliques(DEMSAR, critical_difference(4, 14, 0.05)) == [["C4.5+m+cf", "C4.5+m", "C4.5+cf", "C4.5"]]
    # At 0.10, C4.5+m+cf and C4.5 differ: no bar holds both.
    assert cliques(DEMSAR, critical_difference(4, 14, 0.10)) == [
        ["C4.5+m+cf", "C4.5+m", "C4.5+cf"],
        ["C4.5+cf", "C4.5"],
    ]
    assert cliques(pd.Series({"a": 1.0, "b": 3.0}), 1.0) == []  # apart: no bar


def test_plot_cd_draws_the_diagram_and_the_report_holds_it(tmp_path):
    db = tmp_path / "runs.sqlite"
    optbench.run(["linear", "quadratic", "sinusoidal"], ["adam", "gd", "lbfgs"], max_steps=100, db=db)
    out = tmp_path / "cd.png"
    assert main(["plot", "--kind", "cd", "--db", str(db), "--output", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["report", "--db", str(db), "--output", str(tmp_path / "r.html")]) == 0
    assert 'id="cd"' in (tmp_path / "r.html").read_text()


def test_a_cd_diagram_of_one_problem_is_one_clear_error(tmp_path, capsys):
    db = tmp_path / "runs.sqlite"
    optbench.run("linear", ["adam", "gd"], max_steps=20, db=db)
    refused(["plot", "--kind", "cd", "--db", str(db), "--output", str(tmp_path / "cd.png")], capsys, "2 or more")
    assert not (tmp_path / "cd.png").exists()


@pytest.mark.parametrize("k, n", [(1, 5), (3, 0)])
def test_a_critical_difference_needs_two_configurations_and_a_problem(k, n):
    with pytest.raises(optbench.OptbenchError, match="2 or more configurations"):
        critical_difference(k, n)
