"""One run: (problem, solver, budget, seed) -> Result; the runs of one group at once.
``run_group`` asks the driver table which driver runs a solver of each kind: the compiled
loop (``loop`` on the host, ``programs`` on the device), where a group's native runs
execute as lanes of one program, the library bridge (``bridge``) and the
population bridge (``population_bridge``) for library solvers; ``trace`` turns what they
recorded into a run's trace. Above the solvers and the compiled-program caches; below the
executors (``optbench.execute``), which alone run many."""
