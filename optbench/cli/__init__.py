"""The ``optbench`` command line: list, describe, run, table, plot, report, export.

Only argparse is imported at start; each command imports what it needs, so ``--help``
never loads JAX. Errors in what the user asked for end in one message and exit code 2.
"""

from __future__ import annotations

import os
import sys

from optbench.cli.parser import build_parser


def entry() -> None:
    """The ``optbench`` program: ``main`` with the process's arguments, then exit.

    After a Ctrl-C the process ends without the interpreter's teardown, once its output is
    flushed: computations the interrupt left running in JAX's threads crashed that
    teardown (a segmentation fault in about 1 exit in 6), after the finished runs were
    already stored. ``main`` itself returns 130, so a notebook calling it lives on.
    """
    code = main()
    if code == 130 and "jax" in sys.modules:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


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
        message = str(err)  # never a wall of text: the whole line stays under 1,000 characters
        print(f"optbench: error: {message if len(message) <= 960 else message[:957] + '...'}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if args.command == "run":
            said = "finished runs are stored, run the same command again to resume"
        else:  # the views run nothing, and write their files whole or not at all
            said = "no file was half-written"
        print(f"\noptbench: interrupted; {said}", file=sys.stderr)
        return 130
