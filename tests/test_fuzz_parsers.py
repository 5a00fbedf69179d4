"""Property-based fuzzing of what a user types: spec strings, seeds and suite files.

Every generated input must end in a valid plan or one clear ``OptbenchError`` (exit 2 on
the command line), never another exception and never past ``DEADLINE_S``. ``fuzz_counts.py``
counts the outcomes over more inputs for a report.
"""

import pytest
from fuzzing import build_named_problems, spec_cases, spec_outcome, suite_documents, suite_outcome
from hypothesis import HealthCheck, given, settings

FUZZ = settings(max_examples=500, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module", autouse=True)
def built_problems():
    build_named_problems()


@FUZZ
@given(case=spec_cases)
def test_any_spec_strings_and_seeds_make_a_plan_or_one_clear_error(case):
    assert spec_outcome(case) in ("accepted", "clear error")


@FUZZ
@given(text=suite_documents())
def test_any_suite_file_makes_a_plan_or_one_clear_error(text):
    assert suite_outcome(text) in ("accepted", "clear error")
