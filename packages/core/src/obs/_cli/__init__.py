"""The ``obs`` command: query the local store, show traces, list integrations, run a program.

obs traces                       recent traces, one line each
obs trace 4bf92f35               one trace as a waterfall
obs query "SELECT ..."           SQL over the store (table, --json or --csv), read-only
obs integrations                 what is installed and its state
obs run -- python app.py         configure and auto-instrument a program, unchanged
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from obs._cli import _programs, _query, _traces, _waterfall
from obs._cli._output import print_table
from obs._cli._query import EXAMPLE_QUERY
from obs._cli._session import CommandFailed, add_store_options
from obs._cli._waterfall import render_waterfall

__all__ = ["EXAMPLE_QUERY", "build_parser", "main", "print_table", "render_waterfall"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="obs",
        description="obs: observability for Python services",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1] if __doc__ else None,
    )
    commands = parser.add_subparsers(dest="name", required=True, metavar="COMMAND")
    add_store_options(_query.add_parser(commands))
    add_store_options(_traces.add_parser(commands))
    add_store_options(_waterfall.add_parser(commands))
    _programs.add_parsers(commands)

    from obs._alerts.cli import add_command as add_alerts_command  # `obs alerts [run]`

    add_alerts_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except CommandFailed as exc:
        print(exc, file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print(f"obs {args.name}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `obs traces | head`
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
