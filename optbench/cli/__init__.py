"""The ``optbench`` command line: list, describe, run, table, plot, report, export.

Only argparse is imported at start; each command imports what it needs, so ``--help``
never loads JAX. Errors in what the user asked for end in one message and exit code 2.
"""

from __future__ import annotations

import sys

from optbench.cli.parser import build_parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 0
    from optbench.errors import OptbenchError

    try:
        return args.handler(args)
    except OptbenchError as err:
        print(f"optbench: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "\noptbench: interrupted; finished runs are stored, run the same command again to resume", file=sys.stderr
        )
        return 130
