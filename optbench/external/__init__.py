"""Objectives from outside JAX: plain numpy black boxes (and, to come, the field's
standard problem suites)."""
