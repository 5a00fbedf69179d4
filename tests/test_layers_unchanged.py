"""Refactoring changes no number: a suite over every optimizer family (native, library and
population; scipy, DEAP, pymoo) and the local pool stores, bit for bit, the numbers
recorded in tests/data/layers_golden.json.

The file was written on x86-64 CPUs with this test's OPTBENCH_WRITE_GOLDEN=1, before the
layers moved (0.4.0), and again when native runs moved into lanes (0.5.0: 7 of its 26
runs changed in their last bits, one LM run in a Jacobian count at its converged end); it
holds exact floats (float.hex), so it is compared on the CPU backend only. Runs are named
by problem, optimizer and seed, not by run id, which names the optbench version as well:
a version bump for a change elsewhere (0.6.0: bfgs's O(n^2) update) keeps these numbers."""

import hashlib
import json
import os
from pathlib import Path

import jax
import numpy as np
import pytest

import optbench

GOLDEN = Path(__file__).parent / "data" / "layers_golden.json"
SETS = [
    (
        ["quadratic"],
        ["adam", "lbfgs", "lm", "nelder_mead", "ga", "scipy_bfgs", "scipy_lm", "deap_ga"],
        {"max_steps": 40},
    ),
    (["xor"], ["sgd"], {"max_steps": 40}),
    (["zdt1"], ["nsga2[pop_size=20]", "pymoo_nsga2[pop_size=20]"], {"max_evals": 200}),
    (["bbob_f3[dim=2]"], ["nelder_mead", "scipy_nelder_mead"], {"max_evals": 100}),
]


def _numbers(runs, traces):
    """Per run (by problem, configuration and seed; each set has one budget): how it ended,
    its counts, its loss and the hash of its point and of its trace, exactly."""
    out = {}
    for row in runs.itertuples():
        trace = traces[traces["run_id"] == row.run_id][["nfev", "njev", "loss", "best_loss"]].to_numpy(float)
        out[f"{row.problem} {row.optimizer} seed {row.seed}"] = {
            "status": row.status,
            "nit": int(row.nit),
            "nfev": int(row.nfev),
            "njev": int(row.njev),
            "fun": float(row.fun).hex(),
            "x": hashlib.sha256(row.x.encode()).hexdigest() if isinstance(row.x, str) else None,  # JSON, exact
            "trace": hashlib.sha256(np.ascontiguousarray(trace).tobytes()).hexdigest(),
        }
    return out


def _suite():
    numbers = {}
    for problems, optimizers, budget in SETS:
        numbers.update(_numbers(*optbench.run(problems, optimizers, seeds=2, progress=False, **budget)))
    return numbers


@pytest.mark.slow
@pytest.mark.skipif(jax.default_backend() != "cpu", reason="the golden numbers are the CPU backend's")
def test_every_family_stores_the_numbers_it_stored_before_the_layers_moved():
    numbers = _suite()
    if os.environ.get("OPTBENCH_WRITE_GOLDEN") == "1":
        GOLDEN.write_text(json.dumps(numbers, indent=1, sort_keys=True) + "\n")
    golden = json.loads(GOLDEN.read_text())
    assert len(golden) == 26 and set(numbers) == set(golden)
    changed = {k: (golden[k], numbers[k]) for k in golden if golden[k] != numbers[k]}
    assert not changed, changed
