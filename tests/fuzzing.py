"""Hypothesis strategies for hostile input, and the check every input must pass.

Shared by ``test_fuzz_parsers.py`` (the property tests) and ``fuzz_counts.py`` (which
counts outcomes for a report). An input must end in a valid plan or one ``OptbenchError``,
never another exception, and within a second.
"""

from __future__ import annotations

import json
import math
import signal
import tempfile
import time
from pathlib import Path

from hypothesis import strategies as st

from optbench.budget import Budget
from optbench.errors import OptbenchError
from optbench.execute.plan import plan
from optbench.suite import load_suite

# Far above the slowest legal input (100,000 runs, the most a plan may hold, plan in 0.4 s here):
# the deadline catches work that grows without bound, not a loaded machine's pause.
DEADLINE_S = 5.0
# Names a user would type; the problems are cheap to build and cached after the first time.
PROBLEMS = ["linear", "quadratic", "zdt1", "linear[n=30]", "nist_misra1a"]
OPTIMIZERS = ["gd", "sgd", "adam", "lbfgs", "nelder_mead", "ga", "nsga2", "scipy_lbfgsb", "lm", "deap_ga"]
PARAMETERS = ["n", "noise", "seed", "learning_rate", "batch_size", "pop_size", "memory", "maxcor", "start", "b1", "x"]

_numbers = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["0", "-1", "1e400", "1e-400", "inf", "nan", "3000000000", "1" * 5000, "\u0663", "0x10", "1_000"]),
)
_values = st.one_of(
    _numbers,
    st.sampled_from(["true", "false", "relu", "64x32", "'quoted'", '"', "[]", "[1,[2]]"]),
    st.builds(
        lambda k, a, b, n: f"{k}({a},{b},{n})", st.sampled_from(["logspace", "linspace"]), _numbers, _numbers, _numbers
    ),
    st.lists(_numbers, min_size=1, max_size=4).map(lambda v: "[" + ",".join(v) + "]"),
    st.text(max_size=8),
)


@st.composite
def specs(draw, names: list[str]) -> str:
    """A spec string built like a user's, from real names and hostile values (and sometimes garbage)."""
    name = draw(st.one_of(st.sampled_from(names), st.text(max_size=12)))
    if draw(st.booleans()):
        return name
    pairs = draw(st.lists(st.tuples(st.sampled_from(PARAMETERS), _values), max_size=3))
    inner = ",".join(f"{k}={v}" for k, v in pairs)
    return draw(st.sampled_from([f"{name}[{inner}]", f"{name}[{inner}", f"{name}[{inner}]]", f" {name} [ {inner} ] "]))


any_text = st.text(max_size=60)
problem_specs = st.one_of(any_text, specs(PROBLEMS))
optimizer_specs = st.one_of(any_text, specs(OPTIMIZERS))
seeds = st.one_of(
    st.integers(min_value=-5, max_value=10**12), st.lists(st.integers(min_value=-5, max_value=2**33), max_size=4)
)


def _toml(value: object) -> str:
    """A value as TOML text (strings JSON-escaped, which TOML's basic strings accept)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return (
            "nan"
            if math.isnan(value)
            else ("inf" if value == math.inf else "-inf" if value == -math.inf else repr(value))
        )
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(str(k))} = {_toml(v)}" for k, v in value.items()) + "}"


_toml_values = st.recursive(
    st.one_of(
        st.booleans(),
        st.integers(min_value=-(2**63), max_value=2**63 - 1),
        st.floats(),
        st.text(max_size=10),
        problem_specs,
        optimizer_specs,
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=8,
)
_budget_keys = ["max_steps", "max_evals", "max_time", "target", "max_epochs", "steps"]


@st.composite
def suite_documents(draw) -> str:
    """A suite file: mostly the right keys with hostile values, sometimes raw text."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.text(max_size=200))
    names = st.lists(st.sampled_from(PROBLEMS), min_size=1, max_size=2)
    document = {
        "problems": draw(st.one_of(names, names, st.lists(problem_specs, max_size=3), _toml_values)),
        "optimizers": draw(
            st.one_of(
                st.lists(st.sampled_from(OPTIMIZERS), min_size=1, max_size=2), st.lists(optimizer_specs, max_size=3)
            )
        ),
    }
    if draw(st.booleans()):
        document["seeds"] = draw(st.one_of(seeds, seeds, _toml_values))
    if draw(st.booleans()):
        budget_values = st.one_of(st.integers(-3, 2**40), st.floats(), _toml_values)
        document["budget"] = draw(st.dictionaries(st.sampled_from(_budget_keys), budget_values, max_size=3))
    if draw(st.integers(0, 4)) == 0:
        document[draw(st.text(max_size=6))] = draw(_toml_values)
    return "\n".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in document.items())


class _Hang(BaseException):
    pass


def outcome(action, hang_s: float = 20.0) -> str:
    """What ``action()`` did: "accepted", "clear error", "traceback: ...", "slow" (past the
    deadline) or "hang" (stopped after ``hang_s``)."""
    armed = [True]

    def stop(signum, frame):
        if armed[0]:
            raise _Hang

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, hang_s)
    started, error = time.perf_counter(), None
    try:
        try:
            action()
            result = "accepted"
        except OptbenchError:
            result = "clear error"
        except Exception as err:  # what the property forbids
            result, error = "traceback", err
        finally:
            armed[0] = False
    except _Hang:
        result, error = "hang", None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    if error is not None:
        detail = error.args[0] if error.args and isinstance(error.args[0], str) else ""
        return f"traceback: {type(error).__name__}: {detail[:120]}"
    if time.perf_counter() - started > DEADLINE_S and result in ("accepted", "clear error"):
        result = "slow"
    return result


spec_cases = st.tuples(problem_specs, optimizer_specs, seeds)


def build_named_problems() -> None:
    """Build the named problems once: their first build is not what the deadline measures."""
    from optbench.registry import REGISTRY

    for spec in PROBLEMS:
        REGISTRY.problem(spec)


def spec_outcome(case: tuple) -> str:
    """The outcome of planning a problem spec, an optimizer spec and seeds, as ``run -p -o --seeds``."""
    problem, optimizer, seed_value = case
    return outcome(lambda: plan([problem], [optimizer], seed_value, Budget(max_steps=10)))


def suite_outcome(text: str) -> str:
    """The outcome of reading a suite file and planning it, as ``run FILE.toml``."""

    def read_and_plan() -> None:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "fuzzed.toml"
            path.write_text(text, encoding="utf-8", errors="surrogatepass")
            suite = load_suite(path)
            plan(suite.problems, suite.optimizers, suite.seeds, suite.budget, suite.name)

    return outcome(read_and_plan)
