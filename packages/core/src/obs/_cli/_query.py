"""``obs query``: SQL over the store, read-only, as a table, JSON or CSV."""

from __future__ import annotations

import argparse
import json
import sys

from obs._cli._output import print_table
from obs._cli._session import CommandFailed, store_session
from obs._records import TYPE_CHECKING
from obs._store import ResultTooLarge, bounded_rows
from obs._terminal import safe_text

if TYPE_CHECKING:
    from typing import Any

EXAMPLE_QUERY = """\
SELECT attributes ->> '$."http.route"' AS route, count(*) AS requests,
       round(p50(duration_ms), 2) AS p50_ms, round(p95(duration_ms), 2) AS p95_ms,
       sum(status = 'error') AS errors
FROM spans
WHERE kind = 'server' AND start_ns > ago(3600)
GROUP BY route ORDER BY requests DESC"""


def run_query(args: argparse.Namespace) -> int:
    sql = args.sql if args.sql != "-" else sys.stdin.read()
    with store_session(args, "query") as conn:
        cursor = conn.execute(sql)
        columns = [d[0] for d in cursor.description or ()]
        rows = _bounded_rows(cursor)
    if args.json:
        # ensure_ascii: control and bidi characters leave as \\u escapes, never raw.
        json.dump(
            [dict(zip(columns, row, strict=True)) for row in rows],
            sys.stdout,
            indent=2,
            default=str,
            ensure_ascii=True,
        )
        print()
    elif args.csv:
        import csv  # only for --csv: every import is start-up time of each command

        writer = csv.writer(sys.stdout)
        terminal = sys.stdout.isatty()
        writer.writerow([_csv_value(c, terminal) for c in columns])
        for row in rows:
            writer.writerow([_csv_value(v, terminal) for v in row])
    else:
        print_table(columns, rows)
    return 0


def _bounded_rows(cursor: Any) -> list[Any]:
    try:
        rows, _ = bounded_rows(cursor)
    except ResultTooLarge as exc:
        raise CommandFailed(f"obs query: {exc}", 2) from None
    return rows


def _csv_value(value: Any, terminal: bool) -> Any:
    # Piped CSV keeps the data exact; on a terminal it is neutralised like every other output.
    if terminal and isinstance(value, str):
        return safe_text(value, keep_newlines=True)
    return value


def add_parser(commands: Any) -> argparse.ArgumentParser:
    query: argparse.ArgumentParser = commands.add_parser(
        "query",
        help="run SQL over the local span store (read-only)",
        description="Run SQL over the tables `spans` and `traces`, read-only. Helpers: "
        "p50/p90/p95/p99(x), percentile(x, p), attr(attributes, 'key'), ago(seconds) (the "
        "start_ns of that long ago).\n\nExample:\n\n" + EXAMPLE_QUERY,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    query.add_argument("sql", help="the query ('-' reads it from stdin)")
    output = query.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="rows as a JSON array of objects")
    output.add_argument("--csv", action="store_true", help="rows as CSV")
    query.set_defaults(run=run_query)
    return query
