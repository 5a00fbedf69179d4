"""The report leads with a verdict computed from the tables below it."""

import re

import pytest

import optbench
from optbench.analysis.report import report_html
from optbench.analysis.verdict import verdict
from optbench.analysis.views import Comparison


@pytest.fixture(scope="module")
def comparison():
    # lm solves a linear least-squares fit exactly in a step or two; 30 steps of gd or adam do not.
    runs, traces = optbench.run(["linear", "quadratic"], ["lm", "gd", "adam[learning_rate=0.5]"], seeds=6,
                                max_steps=30, progress=False)  # fmt: skip
    return runs, traces


def test_the_verdict_names_who_solves_most_and_fastest_and_which_differences_are_real(comparison):
    runs, traces = comparison
    view = Comparison(runs, traces)
    lines = verdict(view)
    assert lines[0] == (
        "lm solves the most: 100% of the 12 problem instances (problem x seed) reach the target; "
        "next, adam[learning_rate=0.5] and gd with 0%."
    )
    assert lines[1].startswith("Fastest to the target on the most instances: lm, on 100% of them")
    tests = view.stats()["tests"]
    final = tests[tests["measure"] == "final loss"]
    real = final[final["significant"]]
    assert len(real) >= 2 and set(real["better"]) == {"lm"}  # the tables it summarizes
    assert lines[2].startswith(f"{len(real)} of {len(final)} pairwise differences in final loss are significant")
    assert re.search(r"lm lower than (gd|adam\[learning_rate=0\.5\]) on (linear|quadratic) \(in 100% of", lines[2])


def test_the_report_opens_on_the_verdict_and_explains_the_summary_columns(comparison):
    runs, traces = comparison
    page = report_html(runs, traces)
    sections = re.findall(r'<section id="([^"]+)">', page)
    assert sections[:3] == ["verdict", "setup", "summary"]
    verdict_part = page[page.index('<section id="verdict">') : page.index('<section id="setup">')]
    assert "lm solves the most" in verdict_part and 'id="ecdf' in verdict_part  # the headline figure
    assert "fun_median, fun_q25, fun_q75, fun_best: the final loss over seeds" in page
    assert page.count("<details>") >= 3  # the detail tables, collapsed
