"""Count what optbench does with generated hostile input: clear error, accepted, traceback, slow, hang.

    python tests/fuzz_counts.py [N]         # N spec cases and N suite files (default 1000), a fixed seed
    python tests/fuzz_counts.py --cli [N]   # N whole command lines (default 1000), a fixed seed

Run it against two checkouts to compare them; the property tests are ``test_fuzz_parsers.py``
and ``test_fuzz_cli.py``.
"""

import collections
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
os.environ.setdefault("OPTBENCH_CACHE_DIR", tempfile.mkdtemp(prefix="optbench-fuzz-cache-"))

from fuzzing import build_named_problems, spec_cases, spec_outcome, suite_documents, suite_outcome
from hypothesis import HealthCheck, given, seed, settings


def _settings(n: int):
    return settings(max_examples=n, deadline=None, database=None, suppress_health_check=list(HealthCheck))


def count(n: int) -> dict[str, collections.Counter]:
    build_named_problems()
    counts = {"specs": collections.Counter(), "suites": collections.Counter()}
    examples = {}

    def counted(kind, check):
        def record(case):
            result = check(case)
            counts[kind][result.split(":")[0]] += 1
            examples.setdefault(result, case)

        return seed(11)(_settings(n)(given(spec_cases if kind == "specs" else suite_documents())(record)))

    counted("specs", spec_outcome)()
    counted("suites", suite_outcome)()
    _show(examples)
    return counts


def count_command_lines(n: int) -> dict[str, collections.Counter]:
    from cli_fuzzing import command_lines, command_outcome, reset, scratch_folder

    root = scratch_folder(Path(tempfile.mkdtemp(prefix="optbench-fuzz-cli-")))
    pristine = (root / "results" / "optbench.sqlite").read_bytes()
    counts, examples = collections.Counter(), {}

    @seed(23)
    @_settings(n)
    @given(command_lines())
    def record(argv):
        reset(root, pristine)
        result = command_outcome(argv, root)
        counts[result.split(":")[0]] += 1
        examples.setdefault(result, argv)

    record()
    _show(examples)
    return {"command lines": counts}


def _show(examples: dict) -> None:
    for result, case in examples.items():
        if result.startswith(("traceback", "slow", "hang", "unclear", "exit")):
            print(f"{result}\n    from {str(case)[:200]!r}")


if __name__ == "__main__":
    arguments = [a for a in sys.argv[1:] if a != "--cli"]
    n = int(arguments[0]) if arguments else 1000
    counted = count_command_lines(n) if "--cli" in sys.argv else count(n)
    for kind, counter in counted.items():
        print(kind, dict(counter), "total", sum(counter.values()))
