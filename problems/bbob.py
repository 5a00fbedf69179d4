"""COCO's BBOB suite: ``bbob_f1`` ... ``bbob_f24``, each with ``dim`` (2, 3, 5, 10, 20, 40)
and ``instance`` (1-15), as black boxes evaluated by COCO's ``cocoex``. Registered only
where ``coco-experiment`` is installed (``pip install 'optbench[suites]'``); elsewhere,
asking for one says what to install. See ``optbench.external.bbob``.
"""

from __future__ import annotations

from optbench import Problem, register_problem
from optbench.external import bbob
from optbench.registry import register_missing


def _register(function: int) -> None:
    def factory(dim: int = bbob.DEFAULT_DIM, instance: int = bbob.DEFAULT_INSTANCE) -> Problem:
        return bbob.bbob_problem(function, dim, instance)

    factory.__doc__ = f"BBOB f{function}: {bbob.NAMES[function]} (COCO; dim 2-40, instance 1-15)."
    limits = {"dim": (2, 40), "instance": bbob.INSTANCES}
    register_problem(f"bbob_f{function}", tags=("bbob", "black_box"), limits=limits)(factory)


if bbob.available():
    for _function in bbob.NAMES:
        _register(_function)
else:
    register_missing("bbob_f", bbob.MISSING)
