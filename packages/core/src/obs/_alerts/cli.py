"""``obs alerts`` (rules, current values, open incidents; read-only) and ``obs alerts run``
(the evaluator in the foreground, for a deployment where no app process should evaluate)."""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from obs._alerts.evaluator import Evaluator
from obs._alerts.loading import load_config
from obs._alerts.status import alert_status
from obs._alerts.vocabulary import RuleError, format_value
from obs._scrubbing import Scrubber
from obs._store import resolve_path

_DB_HELP = "the store file (default: $OBS_STORE_PATH or .obs/spans.db)"


def add_command(commands: Any) -> None:
    """Register ``obs alerts`` on the ``obs`` command's subparsers (the hook in ``_cli``)."""
    from obs._cli._session import add_store_options

    alerts = add_store_options(
        commands.add_parser(
            "alerts",
            help="alert rules, their current values and open incidents",
            description="List the alert rules recorded in the store by the process that "
            "evaluates them, their current values and open incidents. Read-only. "
            "`obs alerts run` evaluates rules in the foreground.",
        )
    )
    alerts.add_argument("--json", action="store_true", help="everything as JSON")
    alerts.set_defaults(run=list_alerts)
    sub = alerts.add_subparsers(dest="alerts_command", metavar="run")
    run = sub.add_parser(
        "run",
        help="evaluate alert rules in the foreground (Ctrl-C stops)",
        description="Evaluate the rules of a TOML or JSON file (--file or $OBS_ALERTS_FILE) "
        "over the store every interval, and deliver notifications. Competes for the store's "
        "evaluator lease like any configured process: one evaluator at a time.",
    )
    run.add_argument("--db", default=argparse.SUPPRESS, help=_DB_HELP)
    run.add_argument("--file", help="the rules file (default: $OBS_ALERTS_FILE)")
    run.add_argument("--interval", help="seconds between evaluations (overrides the file)")
    run.add_argument("--once", action="store_true", help="evaluate once and exit")
    run.set_defaults(run=run_alerts)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _text(value: Any) -> str:
    """Text from the store, safe for a terminal: no escape sequences or control characters."""
    return _CONTROL.sub("?", str(value))


def _group(group: dict[str, Any]) -> str:
    return ", ".join(f"{_text(k)}={_text(v)}" for k, v in group.items()) or "-"


def list_alerts(args: argparse.Namespace) -> int:
    from obs._cli._session import store_session

    path = resolve_path(args.db)
    with store_session(args, "alerts") as conn:
        status = alert_status(conn)
    if args.json:
        json.dump(status, sys.stdout, indent=2, default=str)
        print()
        return 0
    if not status["rules"]:
        print(
            f"no alert rules recorded in {path} (configure(alerts=...) in a program using this "
            "store, or run `obs alerts run --file rules.toml`)"
        )
        return 0
    evaluator = status["evaluator"]
    if evaluator and evaluator["active"]:
        print(f"evaluator: {evaluator['host']} pid {evaluator['pid']} since {evaluator['since']}")
    else:
        print("evaluator: none running (values below are from the last evaluation)")
    from obs._cli._output import print_table

    rows = []
    for rule in status["rules"]:
        values = rule["values"] or [{"group": {}, "value": None, "breaching": False, "error": None}]
        for value in values:
            group = _group(value["group"])
            state = (
                "error: " + _text(value["error"])
                if value.get("error")
                else ("breaching" if value["breaching"] else "ok")
            )
            rows.append(
                (
                    _text(rule["name"]),
                    rule["condition"],
                    group,
                    format_value(value["value"], rule.get("unit", "")),
                    state,
                    ", ".join(rule.get("channels", [])),
                )
            )
    print_table(["rule", "condition", "group", "value", "state", "channels"], rows)
    print()
    if not status["open"]:
        print("no open incidents")
    else:
        units = {r["name"]: r.get("unit", "") for r in status["rules"]}
        print_table(
            ["incident", "rule", "group", "since", "value", "notified", "example trace"],
            [
                (
                    i["id"],
                    _text(i["rule"]),
                    _group(i["group"]),
                    i["started_at"],
                    format_value(i["value"], units.get(i["rule"], "")),
                    i["notifications"],
                    i["example_trace_id"] or "",
                )
                for i in status["open"]
            ],
        )
    return 0


def run_alerts(args: argparse.Namespace) -> int:
    import os

    source = args.file or os.environ.get("OBS_ALERTS_FILE")
    if not source:
        print("obs alerts run: give --file rules.toml (or set OBS_ALERTS_FILE)", file=sys.stderr)
        return 2
    try:
        config = load_config(Path(source))
    except RuleError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if config is None:
        print(f"obs alerts run: no rules in {source}", file=sys.stderr)
        return 2
    if args.interval:
        from dataclasses import replace

        from obs._alerts.vocabulary import parse_duration

        try:
            interval = parse_duration(args.interval, "--interval") or config.interval_s
        except RuleError as exc:
            print(str(exc), file=sys.stderr)
            return 2
        config = replace(config, interval_s=interval)
    restore_logging = _log_to_stderr()
    path = resolve_path(getattr(args, "db", None))
    evaluator = Evaluator(config, path, scrubber=Scrubber())
    print(
        f"obs alerts run: {len(config.rules)} rule(s) over {path}, every {config.interval_s:g}s "
        "(Ctrl-C stops)",
        file=sys.stderr,
    )
    stop = threading.Event()
    try:
        if args.once:
            evaluator.evaluate_once()
        else:
            evaluator.run(stop)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        evaluator.stop()
        restore_logging()
    return 0


def _log_to_stderr() -> Callable[[], None]:
    """obs's messages (and the console channel) on stderr; returns the undo."""
    logger = logging.getLogger("obs")
    level = logger.level
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)

    def restore() -> None:
        logger.removeHandler(handler)
        logger.setLevel(level)

    return restore
