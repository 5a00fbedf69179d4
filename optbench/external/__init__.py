"""Objectives from outside JAX and the field's standard problem sets: plain numpy black
boxes (``black_box``), COCO's BBOB functions through cocoex (``bbob``) and CUTEst problems
through sif2jax (``cutest``)."""
