"""``obs traces``: recent traces, one line each, from the store's trace summaries."""

from __future__ import annotations

import argparse
import json
import sys

from obs._cli._output import local_time, print_table
from obs._cli._session import store_session
from obs._records import TYPE_CHECKING
from obs._store import TraceSummary, recent_traces

if TYPE_CHECKING:
    from typing import Any


def run_traces(args: argparse.Namespace) -> int:
    with store_session(args, "traces") as conn:
        traces = recent_traces(
            conn,
            limit=args.limit,
            service=args.service,
            name=args.name,
            status="error" if args.errors else None,
            min_duration_ms=args.min_ms,
        )
    if args.json:
        keys = [
            "trace_id",
            "start_ns",
            "duration_ms",
            "spans",
            "errors",
            "services",
            "root",
            "status_code",
        ]
        rows = [
            dict(
                zip(
                    keys,
                    (
                        t.trace_id,
                        t.start_ns,
                        t.duration_ms,
                        t.span_count,
                        t.error_count,
                        ",".join(t.services),
                        t.root_label,
                        t.root_status_code,
                    ),
                    strict=True,
                )
            )
            for t in traces
        ]
        json.dump(rows, sys.stdout, indent=2, ensure_ascii=True)
        print()
        return 0
    table = [
        (
            local_time(t.start_ns),
            t.trace_id,
            t.root_label if t.root_label is not None else "(root not seen)",
            ", ".join(t.services),
            t.span_count,
            round(t.duration_ms, 2),
            _status(t),
        )
        for t in traces
    ]
    print_table(["start", "trace_id", "root span", "services", "spans", "ms", "status"], table)
    if traces:
        print(f"next: obs trace {traces[0].trace_id[:8]}")
    return 0


def _status(trace: TraceSummary) -> str:
    """``ok``/``error``, after the root's HTTP status code when it has one (``404 ok``)."""
    verdict = "error" if trace.error_count else "ok"
    code = trace.root_status_code
    return verdict if code is None else f"{code} {verdict}"


def add_parser(commands: Any) -> argparse.ArgumentParser:
    traces: argparse.ArgumentParser = commands.add_parser(
        "traces", help="recent traces, one line each"
    )
    traces.add_argument("-n", "--limit", type=int, default=20)
    traces.add_argument("--service", help="only traces with spans from this service")
    traces.add_argument("--name", help="only traces whose root span has this name")
    traces.add_argument("--errors", action="store_true", help="only traces with an error")
    traces.add_argument("--min-ms", type=float, help="only traces lasting at least this long")
    traces.add_argument("--json", action="store_true")
    traces.set_defaults(run=run_traces)
    return traces
