"""``python -m optbench`` runs the command line."""

from optbench.cli import main

raise SystemExit(main())
