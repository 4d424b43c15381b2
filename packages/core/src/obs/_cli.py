"""The ``obs`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _integrations(_: argparse.Namespace) -> int:
    from obs import integrations

    rows = [(i.name, i.status, i.distribution or "", i.detail) for i in integrations()]
    if not rows:
        print("no obs integrations installed (pip install obs-fastapi, obs-faststream, ...)")
        return 0
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for name, status, dist, detail in rows:
        print(f"{name:<{widths[0]}}  {status:<{widths[1]}}  {dist:<{widths[2]}}  {detail}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="obs", description="obs: observability for Python services"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "integrations", help="list installed integrations and their state"
    ).set_defaults(run=_integrations)
    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
