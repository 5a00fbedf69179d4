"""``python -m optbench`` runs the command line."""

from optbench.cli import entry

entry()
