"""Many runs: where the runs of a plan execute (in this process, compiling ahead on several
threads; a local pool of worker processes; a Dask cluster), each stored as it finishes.
Above the one-run layer (``optbench.drive``); the plan (``plan.py``) lives here; nothing below imports it."""

from optbench.execute.runs import execute

__all__ = ["execute"]
