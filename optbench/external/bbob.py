"""COCO's 24 noiseless BBOB functions (Hansen et al., "Real-parameter black-box
optimization benchmarking 2009: noiseless functions definitions", INRIA RR-6829), evaluated
by COCO's own code through ``cocoex`` (the ``coco-experiment`` package) as black boxes.

Each function comes in dimensions 2, 3, 5, 10, 20, 40 and in instances (shifts and
rotations of the same function, each with its own optimal value ``f_opt``). The functions
are defined on all of R^n with their optimum in [-4, 4]^n: population methods sample the
box [-5, 5]^n (COCO's region of interest), and each seed's start is drawn uniformly in
[-4, 4]^n, as COCO recommends for independent restarts.
"""

from __future__ import annotations

import dataclasses
import importlib.util

import numpy as np

from optbench.errors import OptbenchError
from optbench.problem import Problem
from optbench.spec import parse_spec

PACKAGE = "coco-experiment"
MISSING = f"needs COCO's cocoex, which is not installed: pip install {PACKAGE} (or pip install 'optbench[suites]')"
DIMENSIONS = (2, 3, 5, 10, 20, 40)
DEFAULT_DIM, DEFAULT_INSTANCE = 10, 1
INSTANCES = (1, 15)  # COCO's classic instances; later ones exist but are not the 2009 set
NAMES = {
    1: "sphere",
    2: "separable ellipsoid",
    3: "separable Rastrigin",
    4: "Bueche-Rastrigin",
    5: "linear slope",
    6: "attractive sector",
    7: "step ellipsoid",
    8: "Rosenbrock, original",
    9: "Rosenbrock, rotated",
    10: "ellipsoid",
    11: "discus",
    12: "bent cigar",
    13: "sharp ridge",
    14: "different powers",
    15: "Rastrigin",
    16: "Weierstrass",
    17: "Schaffer F7",
    18: "Schaffer F7, ill-conditioned",
    19: "composite Griewank-Rosenbrock F8F2",
    20: "Schwefel x sin(x)",
    21: "Gallagher's 101 peaks",
    22: "Gallagher's 21 peaks",
    23: "Katsuura",
    24: "Lunacek bi-Rastrigin",
}


def available() -> bool:
    """Whether cocoex can be imported (checked without importing it)."""
    return importlib.util.find_spec("cocoex") is not None


def parse_name(spec: str) -> tuple[int, int, int] | None:
    """(function, dim, instance) of a ``bbob_f<k>[...]`` spec, None for another problem."""
    parsed = parse_spec(spec)
    if not parsed.name.startswith("bbob_f") or not parsed.name[6:].isdigit():
        return None
    dim, instance = parsed.params.get("dim", DEFAULT_DIM), parsed.params.get("instance", DEFAULT_INSTANCE)
    return int(parsed.name[6:]), int(dim), int(instance)


def bbob_problem(function: int, dim: int, instance: int) -> Problem:
    """BBOB function ``function`` (1-24) in ``dim`` dimensions, instance ``instance``."""
    from optbench.external.black_box import black_box_problem, uniform_start

    if function not in NAMES:
        raise OptbenchError(f"BBOB has functions 1 to 24, got {function}")
    if dim not in DIMENSIONS:
        raise OptbenchError(f"BBOB's dimensions are {', '.join(map(str, DIMENSIONS))}; got dim={dim}")
    if not INSTANCES[0] <= instance <= INSTANCES[1]:
        raise OptbenchError(f"BBOB instances here are {INSTANCES[0]} to {INSTANCES[1]}; got instance={instance}")
    if not available():
        raise OptbenchError(f"problem 'bbob_f{function}' {MISSING}")
    import cocoex

    fn = cocoex.BareProblem("bbob", function, dim, instance)
    problem = black_box_problem(
        f"bbob_f{function}",
        fn,
        search_box=(np.full(dim, -5.0), np.full(dim, 5.0)),  # COCO's region of interest, not a constraint
        vectorized=True,  # cocoex evaluates a (k, n) array of points in one call
        f_opt=float(fn.best_value()),
        x_opt=fn.best_parameter(),
        description=f"BBOB f{function}, {NAMES[function]}, {dim}-D, instance {instance} (COCO)",
        program_key="bbob",  # one compiled program per dimension serves every function and instance
    )
    return dataclasses.replace(problem, init=uniform_start(np.full(dim, -4.0), np.full(dim, 4.0)))
