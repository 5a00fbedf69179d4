"""Count what optbench does with generated hostile input: clear error, accepted, traceback, slow, hang.

    python tests/fuzz_counts.py [N]     # N inputs of each kind (default 1000), a fixed seed

Run it against two checkouts to compare them; the property test is ``test_fuzz_parsers.py``.
"""

import collections
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from fuzzing import build_named_problems, spec_cases, spec_outcome, suite_documents, suite_outcome
from hypothesis import HealthCheck, given, seed, settings


def count(n: int) -> dict[str, collections.Counter]:
    build_named_problems()
    counts = {"specs": collections.Counter(), "suites": collections.Counter()}
    examples = {}
    run = settings(max_examples=n, deadline=None, database=None, suppress_health_check=list(HealthCheck))

    def counted(kind, check):
        def record(case):
            result = check(case)
            counts[kind][result.split(":")[0]] += 1
            examples.setdefault(result, case)

        return seed(11)(run(given(spec_cases if kind == "specs" else suite_documents())(record)))

    counted("specs", spec_outcome)()
    counted("suites", suite_outcome)()
    for result, case in examples.items():
        if result.startswith(("traceback", "slow", "hang")):
            print(f"{result}\n    from {str(case)[:200]!r}")
    return counts


if __name__ == "__main__":
    for kind, counter in count(int(sys.argv[1]) if len(sys.argv) > 1 else 1000).items():
        print(kind, dict(counter), "total", sum(counter.values()))
