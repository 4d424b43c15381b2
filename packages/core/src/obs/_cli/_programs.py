"""``obs integrations`` (what is installed) and ``obs run`` (a program, instrumented unchanged)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from obs._records import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any


def run_integrations(_: argparse.Namespace) -> int:
    from obs import integrations

    rows = [(i.name, i.status, i.distribution or "", i.detail) for i in integrations()]
    if not rows:
        print("no obs integrations installed (pip install obs-fastapi, obs-faststream, ...)")
        return 0
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for name, status, dist, detail in rows:
        print(f"{name:<{widths[0]}}  {status:<{widths[1]}}  {dist:<{widths[2]}}  {detail}")
    return 0


def run_program(args: argparse.Namespace) -> int:
    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        print("obs run: give a command, e.g. obs run -- python app.py", file=sys.stderr)
        return 2
    env = dict(os.environ)
    bootstrap = str(Path(__file__).parent.parent / "_bootstrap")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (bootstrap, env.get("PYTHONPATH")) if p)
    env["OBS_RUN"] = "1"
    if args.service_name:
        env["OTEL_SERVICE_NAME"] = args.service_name
    if args.only:
        env["OBS_RUN_INSTRUMENT"] = args.only
    try:
        os.execvpe(command[0], command, env)
    except OSError as exc:
        print(f"obs run: cannot run {command[0]!r}: {exc}", file=sys.stderr)
        return 127
    return 0  # pragma: no cover - execvpe does not return


def add_parsers(commands: Any) -> None:
    commands.add_parser("integrations", help="installed integrations and their state").set_defaults(
        run=run_integrations
    )
    run = commands.add_parser(
        "run",
        help="run a program with obs configured and every integration switched on",
        description="Configure obs (from OTEL_*/OBS_* variables) and switch on the installed "
        "integrations at interpreter start-up, then run the command unchanged.",
    )
    run.add_argument("--service-name", help="sets OTEL_SERVICE_NAME")
    run.add_argument("--only", help="comma-separated integrations to switch on (default: all)")
    run.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command")
    run.set_defaults(run=run_program)
