"""Property-based fuzzing of whole command lines: every subcommand, random flags and
hostile values (see ``cli_fuzzing.py``). Each must end in exit 0 or one clear error (exit 2,
one line), never a traceback or a hang. ``fuzz_counts.py --cli`` counts over more."""

import pytest
from cli_fuzzing import command_lines, command_outcome, reset, scratch_folder
from hypothesis import HealthCheck, given, settings


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    root = scratch_folder(tmp_path_factory.mktemp("cli-fuzz"))
    pristine = (root / "results" / "optbench.sqlite").read_bytes()
    return lambda: reset(root, pristine) or root


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(argv=command_lines())
def test_any_command_line_ends_in_exit_0_or_one_clear_error(scratch, argv):
    root = scratch()  # as it was before any command line
    assert command_outcome(argv, root) in ("accepted", "clear error"), argv
