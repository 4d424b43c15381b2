"""The ``obs`` command: query the local store, show traces, list integrations, run a program.

obs traces                       recent traces, one line each
obs trace 4bf92f35               one trace as a waterfall
obs query "SELECT ..."           SQL over the store (table, --json or --csv)
obs integrations                 what is installed and its state
obs run -- python app.py         configure and auto-instrument a program, unchanged
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import sqlite3
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from obs._store import connect, resolve_path

EXAMPLE_QUERY = """\
SELECT attr(attributes, 'http.route') AS route, count(*) AS requests,
       round(p50(duration_ms), 2) AS p50_ms, round(p95(duration_ms), 2) AS p95_ms,
       sum(status = 'error') AS errors
FROM spans
WHERE kind = 'server' AND start_time > datetime('now', '-1 hour')
GROUP BY route ORDER BY requests DESC"""


def _open(args: argparse.Namespace) -> sqlite3.Connection:
    path = resolve_path(args.db)
    try:
        conn = connect(path, create=False)
    except FileNotFoundError:
        raise SystemExit(
            f"obs: no span store at {path} (run a program configured with obs first, or pass "
            "--db PATH / set OBS_STORE_PATH)"
        ) from None
    conn.execute("PRAGMA query_only = ON")  # reading never changes the store
    return conn


# -- output ------------------------------------------------------------------------------


def _cell(value: Any, width: int = 60) -> str:
    text = "" if value is None else str(value)
    text = text.replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


def print_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], out: Any = None) -> None:
    out = out or sys.stdout
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    numeric = [
        all(isinstance(r[i], (int, float)) or r[i] is None for r in rows)
        for i in range(len(columns))
    ]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    print(line(columns), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for row in cells:
        print(line(row), file=out)
    print(f"({len(rows)} row{'s' if len(rows) != 1 else ''})", file=out)


# -- commands ----------------------------------------------------------------------------


def _query(args: argparse.Namespace) -> int:
    conn = _open(args)
    sql = args.sql if args.sql != "-" else sys.stdin.read()
    try:
        cursor = conn.execute(sql)
    except sqlite3.Error as exc:
        print(f"obs query: {exc}", file=sys.stderr)
        return 2
    columns = [d[0] for d in cursor.description or ()]
    rows = cursor.fetchall()
    if args.json:
        json.dump(
            [dict(zip(columns, row, strict=True)) for row in rows],
            sys.stdout,
            indent=2,
            default=str,
        )
        print()
    elif args.csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows(rows)
    else:
        print_table(columns, rows)
    return 0


_TRACES_SQL = """
SELECT t.trace_id,
       min(t.start_ns) AS start_ns,
       (max(t.end_ns) - min(t.start_ns)) / 1e6 AS duration_ms,
       count(*) AS spans,
       sum(t.status = 'error') AS errors,
       group_concat(DISTINCT t.service_name) AS services,
       (SELECT coalesce(r.message, r.name) FROM spans r
         WHERE r.trace_id = t.trace_id
           AND (r.parent_span_id IS NULL OR r.parent_span_id NOT IN
                (SELECT x.span_id FROM spans x WHERE x.trace_id = t.trace_id))
         ORDER BY r.start_ns LIMIT 1) AS root
FROM spans t
WHERE t.trace_id IN (SELECT trace_id FROM spans {where} GROUP BY trace_id
                     ORDER BY max(start_ns) DESC LIMIT ?)
GROUP BY t.trace_id
ORDER BY start_ns DESC
"""


def _traces(args: argparse.Namespace) -> int:
    conn = _open(args)
    clauses, params = [], []
    if args.service:
        clauses.append("service_name = ?")
        params.append(args.service)
    if args.errors:
        clauses.append("trace_id IN (SELECT trace_id FROM spans WHERE status = 'error')")
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = conn.execute(_TRACES_SQL.format(where=where), (*params, args.limit)).fetchall()
    if args.json:
        keys = ["trace_id", "start_ns", "duration_ms", "spans", "errors", "services", "root"]
        json.dump([dict(zip(keys, r, strict=True)) for r in rows], sys.stdout, indent=2)
        print()
        return 0
    table = [
        (
            _local_time(start_ns),
            trace_id,
            root,
            services,
            spans,
            round(duration, 2),
            "error" if errors else "ok",
        )
        for trace_id, start_ns, duration, spans, errors, services, root in rows
    ]
    print_table(["start", "trace_id", "root span", "services", "spans", "ms", "status"], table)
    if rows:
        print(f"next: obs trace {rows[0][0][:8]}")
    return 0


def _local_time(ns: int) -> str:
    return (
        datetime.fromtimestamp(ns / 1e9, tz=timezone.utc).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    )


def _trace(args: argparse.Namespace) -> int:
    conn = _open(args)
    prefix = args.trace_id.lower().strip()
    ids = [
        r[0]
        for r in conn.execute(
            "SELECT DISTINCT trace_id FROM spans WHERE trace_id LIKE ? LIMIT 2", (prefix + "%",)
        )
    ]
    if not ids:
        print(f"obs trace: no trace starting with {prefix!r}", file=sys.stderr)
        return 1
    if len(ids) > 1:
        print(f"obs trace: {prefix!r} matches several traces; give more digits", file=sys.stderr)
        return 1
    rows = conn.execute(
        "SELECT span_id, parent_span_id, name, kind, service_name, start_ns, end_ns, status, "
        "status_message, is_log, level, message, attributes FROM spans WHERE trace_id = ? "
        "ORDER BY start_ns",
        (ids[0],),
    ).fetchall()
    print(render_waterfall(ids[0], rows, colours=_colours(args)))
    return 0


def _colours(args: argparse.Namespace) -> bool:
    if getattr(args, "no_colour", False) or os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


def render_waterfall(
    trace_id: str, rows: Sequence[Sequence[Any]], *, colours: bool = False, width: int | None = None
) -> str:
    """The span tree of one trace, with offsets, bars and durations."""
    spans = [
        dict(
            zip(
                (
                    "span_id",
                    "parent",
                    "name",
                    "kind",
                    "service",
                    "start",
                    "end",
                    "status",
                    "status_message",
                    "is_log",
                    "level",
                    "message",
                    "attributes",
                ),
                row,
                strict=True,
            )
        )
        for row in rows
    ]
    ids = {s["span_id"] for s in spans}
    children: dict[str | None, list[dict[str, Any]]] = {}
    for s in spans:
        parent = s["parent"] if s["parent"] in ids else None
        children.setdefault(parent, []).append(s)
    t0 = min(s["start"] for s in spans)
    t1 = max(s["end"] for s in spans)
    total = max(t1 - t0, 1)
    columns = width or shutil.get_terminal_size((120, 20)).columns
    bar_width = max(10, min(40, columns - 80))
    red, dim, reset = ("\x1b[31m", "\x1b[2m", "\x1b[0m") if colours else ("", "", "")

    ordered: list[tuple[dict[str, Any], str]] = []

    def walk(parent: str | None, prefix: str) -> None:
        kids = children.get(parent, [])
        for i, s in enumerate(kids):
            last = i == len(kids) - 1
            branch = "" if parent is None and prefix == "" else ("└─ " if last else "├─ ")
            ordered.append((s, prefix + branch))
            extension = "" if parent is None and prefix == "" else ("   " if last else "│  ")
            walk(s["span_id"], prefix + extension)

    walk(None, "")
    services = sorted({s["service"] or "?" for s in spans})
    errors = sum(1 for s in spans if s["status"] == "error")
    header = (
        f"trace {trace_id}  {len(spans)} spans  {_ms(total)}  services: {', '.join(services)}"
        + (f"  {red}{errors} error{'s' if errors != 1 else ''}{reset}" if errors else "")
    )
    name_width = min(60, max(len(p) + len(_label(s)) for s, p in ordered))
    lines = [header]
    for s, prefix in ordered:
        offset = s["start"] - t0
        label = _label(s)
        name = (prefix + label)[:name_width].ljust(name_width)
        start_col = int(offset / total * bar_width)
        length = max(1, int((s["end"] - s["start"]) / total * bar_width))
        if s["is_log"]:
            bar = " " * start_col + "·"
        else:
            bar = " " * start_col + "█" * min(length, bar_width - start_col)
        bar = bar.ljust(bar_width)
        duration = "" if s["is_log"] else _ms(s["end"] - s["start"])
        mark = ""
        if s["status"] == "error":
            detail = _error_type(s) or s["status_message"] or "error"
            mark = f"  {red}✗ {_cell(detail, 50)}{reset}"
        lines.append(
            f"{dim}{_ms(offset):>9}{reset} {name} {dim}{bar}{reset} {duration:>9}  "
            f"{dim}{s['service'] or ''}{reset}{mark}"
        )
    return "\n".join(lines)


def _label(span: dict[str, Any]) -> str:
    if span["is_log"]:
        return f"{(span['level'] or 'log').upper()} {span['message'] or span['name']}"
    kind = span["kind"]
    name = span["message"] or span["name"]  # a templated span shows its rendered text
    return name if kind == "internal" else f"{name} ({kind})"


def _error_type(span: dict[str, Any]) -> str | None:
    try:
        value = json.loads(span["attributes"] or "{}").get("error.type")
        return str(value) if value else None
    except ValueError:
        return None


def _ms(ns: float) -> str:
    ms = ns / 1e6
    if ms < 1:
        return f"{ms * 1000:.0f} µs"
    if ms < 1000:
        return f"{ms:.1f} ms"
    return f"{ms / 1000:.2f} s"


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


def _run(args: argparse.Namespace) -> int:
    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        print("obs run: give a command, e.g. obs run -- python app.py", file=sys.stderr)
        return 2
    env = dict(os.environ)
    bootstrap = str(Path(__file__).parent / "_bootstrap")
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="obs",
        description="obs: observability for Python services",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1] if __doc__ else None,
    )
    commands = parser.add_subparsers(dest="name", required=True, metavar="COMMAND")

    def with_db(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--db", help="the store file (default: $OBS_STORE_PATH or .obs/spans.db)")
        return p

    query = with_db(
        commands.add_parser(
            "query",
            help="run SQL over the local span store",
            description="Run SQL over the table `spans`. Helpers: p50/p90/p95/p99(x), "
            "percentile(x, p), attr(attributes, 'key').\n\nExample:\n\n" + EXAMPLE_QUERY,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
    )
    query.add_argument("sql", help="the query ('-' reads it from stdin)")
    output = query.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="rows as a JSON array of objects")
    output.add_argument("--csv", action="store_true", help="rows as CSV")
    query.set_defaults(run=_query)

    traces = with_db(commands.add_parser("traces", help="recent traces, one line each"))
    traces.add_argument("-n", "--limit", type=int, default=20)
    traces.add_argument("--service", help="only traces with spans from this service")
    traces.add_argument("--errors", action="store_true", help="only traces with an error")
    traces.add_argument("--json", action="store_true")
    traces.set_defaults(run=_traces)

    trace = with_db(commands.add_parser("trace", help="one trace as a waterfall"))
    trace.add_argument("trace_id", help="the trace id, or its first digits")
    trace.add_argument("--no-colour", action="store_true")
    trace.set_defaults(run=_trace)

    commands.add_parser("integrations", help="installed integrations and their state").set_defaults(
        run=_integrations
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
    run.set_defaults(run=_run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except BrokenPipeError:  # `obs traces | head`
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
