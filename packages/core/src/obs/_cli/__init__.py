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
from obs._records import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "EXAMPLE_QUERY",
    "STORE_COMMANDS",
    "build_parser",
    "main",
    "print_table",
    "render_waterfall",
]


#: The store commands: their parsers are built directly, without the other commands' modules
#: (alerts, the SDK behind ``obs run``'s integrations list) or the ``obs.commands`` entry point
#: scan, so ``obs traces`` loads argparse, sqlite3 and the store reader only.
STORE_COMMANDS = ("query", "traces", "trace")


def build_parser(only_store_commands: bool = False) -> argparse.ArgumentParser:
    """The ``obs`` parser with every command, or (``only_store_commands``) the store ones only."""
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
    if only_store_commands:
        return parser
    _programs.add_parsers(commands)

    from obs._alerts.cli import add_command as add_alerts_command  # `obs alerts [run]`

    add_alerts_command(commands)
    _add_plugin_commands(commands)
    return parser


def _add_plugin_commands(commands: Any) -> None:
    """Subcommands other distributions offer (``obs ui`` from obs-ui) via ``obs.commands``.

    Each entry point is a function taking the subparsers object; it adds its parser and sets
    ``run``. A broken plugin is skipped: it must not take the other commands down with it.
    """
    from importlib.metadata import entry_points

    for entry in entry_points(group="obs.commands"):
        try:
            entry.load()(commands)
        except Exception as exc:
            print(f"obs: the {entry.name!r} command is unavailable: {exc}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    # `obs --help` and anything else that is not a store command gets the full parser.
    store_command = bool(arguments) and arguments[0] in STORE_COMMANDS
    args = build_parser(only_store_commands=store_command).parse_args(arguments)
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
