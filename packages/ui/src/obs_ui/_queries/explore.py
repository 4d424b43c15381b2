"""The Explore page's SQL: whatever a person types, on the read-only, time-limited connection."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from obs._store import bounded_rows

MAX_ROWS = 5000
#: What one answer may carry to the browser in strings and blobs (the store caps each value
#: at 64 MB; without this, 5,000 rows of large values could hold gigabytes).
MAX_BYTES = 32 * 1024 * 1024
MAX_SQL_CHARS = 20_000

EXAMPLE = """\
SELECT name, count(*) AS spans, round(p50(duration_ms), 2) AS p50_ms,
       round(p95(duration_ms), 2) AS p95_ms, sum(status = 'error') AS errors
FROM spans
WHERE is_log = 0
GROUP BY name ORDER BY spans DESC LIMIT 20"""

TABLES_HELP = (
    "Tables: spans (one row per span or log), traces (one row per trace), metrics (when obs "
    "writes metrics to the store). Functions: attr(attributes, 'key'), ago(seconds) (a start_ns "
    "that long ago), p50/p90/p95/p99(x), percentile(x, p), "
    "llm_cost(model, input, output, cached, reasoning)."
)


def run(conn: sqlite3.Connection, sql: str) -> dict[str, Any]:
    """Columns and up to ``MAX_ROWS`` rows; raises sqlite3.Error for the page to show."""
    if len(sql) > MAX_SQL_CHARS:
        raise ValueError(f"the query is longer than {MAX_SQL_CHARS} characters")
    started = time.perf_counter()
    cur = conn.execute(sql)
    columns = [d[0] for d in cur.description or ()]
    rows, truncated = bounded_rows(cur, max_rows=MAX_ROWS, max_bytes=MAX_BYTES)
    return {
        "columns": columns,
        "rows": [list(r) for r in rows],
        "truncated": truncated,
        "ms": round((time.perf_counter() - started) * 1000, 2),
    }
