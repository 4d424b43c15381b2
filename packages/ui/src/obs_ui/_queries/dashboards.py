"""The ready-made dashboards' SQL, from the conventions the integrations write.

Each dashboard is a list of panels (a table or a time series) over one window of time and
optionally one service. Every query walks the ``spans_start`` index over that window first;
attributes are read with SQLite's own ``json_extract`` (C, not a Python callback).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from obs_ui._db import has_table


def _a(key: str) -> str:
    """``json_extract`` of one attribute; keys are fixed here, never from a request."""
    return f"json_extract(attributes, '$.\"{key}\"')"


ROUTE = _a("http.route")
# The same attributes on the alias ``s`` (a join's span).
ROUTE_S = "json_extract(s.attributes, '$.\"http.route\"')"
METHOD_S = "json_extract(s.attributes, '$.\"http.request.method\"')"
DESTINATION_S = "json_extract(s.attributes, '$.\"messaging.destination.name\"')"
APP_S = "json_extract(s.attributes, '$.\"burr.app_id\"')"
METHOD = _a("http.request.method")
STATUS_CODE = _a("http.response.status_code")
DESTINATION = _a("messaging.destination.name")
GEN_AI_OP = _a("gen_ai.operation.name")
MODEL = f"coalesce({_a('gen_ai.response.model')}, {_a('gen_ai.request.model')})"
INPUT = f"coalesce({_a('gen_ai.usage.input_tokens')}, 0)"
OUTPUT = f"coalesce({_a('gen_ai.usage.output_tokens')}, 0)"
CACHED = f"coalesce({_a('gen_ai.usage.cache_read.input_tokens')}, 0)"
REASONING = f"coalesce({_a('gen_ai.usage.reasoning.output_tokens')}, 0)"
COST = f"llm_cost({MODEL}, {INPUT}, {OUTPUT}, {CACHED}, {REASONING})"
ACTION = f"coalesce({_a('burr.action')}, substr(name, instr(name, ' ') + 1))"
#: Burr's application-level span (`run <app>` today, `invoke_workflow <app>` by convention).
#: Burr's spans are INTERNAL: saying so lets an index on kind narrow the scan.
BURR_RUN = (
    "kind = 'internal' AND scope = 'obs.burr' "
    "AND name NOT LIKE 'step %' AND name NOT LIKE 'execute_tool %'"
)
BURR_STEP = (
    "kind = 'internal' AND scope = 'obs.burr' "
    "AND (name LIKE 'step %' OR name LIKE 'execute_tool %')"
)
LLM = f"kind = 'client' AND {GEN_AI_OP} IS NOT NULL"
HTTP_ERROR = f"(status = 'error' OR coalesce(CAST({STATUS_CODE} AS INTEGER), 0) >= 500)"


@dataclass(frozen=True)
class Window:
    since_ns: int
    until_ns: int
    service: str | None = None

    @property
    def bucket_ns(self) -> int:
        """About 60 points per series, on a round number of seconds."""
        seconds = max(1, (self.until_ns - self.since_ns) // 60 // 1_000_000_000)
        for step in (1, 5, 10, 15, 30, 60, 300, 600, 900, 1800, 3600, 7200, 21600, 86400):
            if step >= seconds:
                return step * 1_000_000_000
        return 86400 * 1_000_000_000

    def where(self, *extra: str) -> tuple[str, list[Any]]:
        clauses = ["start_ns >= ?", "start_ns <= ?", *extra]
        params: list[Any] = [self.since_ns, self.until_ns]
        if self.service:
            clauses.append("service_name = ?")
            params.append(self.service)
        return "WHERE " + " AND ".join(clauses), params


def _table(
    conn: sqlite3.Connection, pid: str, title: str, sql: str, params: Sequence[Any]
) -> dict[str, Any]:
    cur = conn.execute(sql, tuple(params))
    columns = [d[0] for d in cur.description or ()]
    return {"id": pid, "title": title, "type": "table", "columns": columns, "rows": cur.fetchall()}


def _series(
    conn: sqlite3.Connection,
    pid: str,
    title: str,
    window: Window,
    condition: str,
    values: dict[str, str],
) -> dict[str, Any]:
    """Counts or sums per time bucket: the first column is the bucket's start (ns)."""
    where, params = window.where(condition)
    bucket = window.bucket_ns
    selects = ", ".join(f"{expr} AS {name}" for name, expr in values.items())
    sql = (
        f"SELECT (start_ns / {bucket}) * {bucket} AS t, {selects} FROM spans {where} "
        "GROUP BY t ORDER BY t"
    )
    panel = _table(conn, pid, title, sql, params)
    panel["type"] = "series"
    panel["bucket_ns"] = bucket
    return panel


def _split(
    panel: dict[str, Any], parts: Sequence[tuple[str, str]], widths: Sequence[int] = (2, 2)
) -> list[dict[str, Any]]:
    """One query's series drawn as several charts (values on different scales): the time
    column, then ``widths[i]`` value columns for each part, in order."""
    out = []
    start = 1
    for (pid, title), width in zip(parts, widths, strict=True):
        keep = [0, *range(start, start + width)]
        out.append(
            {
                **panel,
                "id": pid,
                "title": title,
                "columns": [panel["columns"][i] for i in keep],
                "rows": [[row[i] for i in keep] for row in panel["rows"]],
            }
        )
        start += width
    return out


def http(conn: sqlite3.Connection, window: Window) -> list[dict[str, Any]]:
    where, params = window.where("kind = 'server'")
    routes = _table(
        conn,
        "routes",
        "Requests per route",
        f"SELECT {METHOD} AS method, coalesce({ROUTE}, name) AS route, count(*) AS requests, "
        "round(p50(duration_ms), 2) AS p50_ms, round(p95(duration_ms), 2) AS p95_ms, "
        f"round(p99(duration_ms), 2) AS p99_ms, sum({HTTP_ERROR}) AS errors, "
        f"round(100.0 * sum({HTTP_ERROR}) / count(*), 2) AS error_pct "
        f"FROM spans {where} GROUP BY method, route ORDER BY requests DESC LIMIT 200",
        params,
    )
    both = _series(
        conn,
        "traffic",
        "Requests and errors",
        window,
        "kind = 'server'",
        {
            "requests": "count(*)",
            "errors": f"sum({HTTP_ERROR})",
            "p50_ms": "round(p50(duration_ms), 2)",
            "p95_ms": "round(p95(duration_ms), 2)",
        },
    )
    series, latency = _split(
        both, [("traffic", "Requests and errors"), ("latency", "Latency (ms)")]
    )
    return [series, latency, routes]


def messaging(conn: sqlite3.Connection, window: Window) -> list[dict[str, Any]]:
    minutes = max((window.until_ns - window.since_ns) / 60e9, 1e-9)
    where, params = window.where("kind IN ('consumer', 'producer')")
    destinations = _table(
        conn,
        "destinations",
        "Per destination",
        f"SELECT {DESTINATION} AS destination, {_a('messaging.system')} AS system, "
        "sum(kind = 'producer') AS sent, sum(kind = 'consumer') AS processed, "
        f"round(sum(kind = 'consumer') / {minutes!r}, 3) AS processed_per_min, "
        "round(p50(CASE WHEN kind = 'consumer' THEN duration_ms END), 2) AS process_p50_ms, "
        "round(p95(CASE WHEN kind = 'consumer' THEN duration_ms END), 2) AS process_p95_ms, "
        "sum(kind = 'consumer' AND status = 'error') AS failures "
        f"FROM spans {where} GROUP BY destination, system ORDER BY processed DESC LIMIT 200",
        params,
    )
    series = _series(
        conn,
        "throughput",
        "Messages processed and failed",
        window,
        "kind = 'consumer'",
        {"processed": "count(*)", "failures": "sum(status = 'error')"},
    )
    return [series, destinations]


def llm(conn: sqlite3.Connection, window: Window) -> list[dict[str, Any]]:
    where, params = window.where(LLM)
    models = _table(
        conn,
        "models",
        "Per model",
        f"SELECT {MODEL} AS model, count(*) AS calls, sum({INPUT}) AS input_tokens, "
        f"sum({OUTPUT}) AS output_tokens, sum({CACHED}) AS cached_input_tokens, "
        f"sum({REASONING}) AS reasoning_tokens, round(sum({COST}), 6) AS cost_usd, "
        "round(p50(duration_ms), 2) AS p50_ms, round(p95(duration_ms), 2) AS p95_ms, "
        "sum(status = 'error') AS errors "
        f"FROM spans {where} GROUP BY model ORDER BY calls DESC LIMIT 200",
        params,
    )
    both = _series(
        conn,
        "calls",
        "Calls and errors",
        window,
        LLM,
        {
            "calls": "count(*)",
            "errors": "sum(status = 'error')",
            "cost_usd": f"round(sum({COST}), 6)",
        },
    )
    calls, cost = _split(both, [("calls", "Calls and errors"), ("cost", "Cost (USD)")], [2, 1])
    return [calls, cost, models, *llm_cost_rollups(conn, window)]


def llm_cost_rollups(conn: sqlite3.Connection, window: Window) -> list[dict[str, Any]]:
    """The cost of LLM calls summed per HTTP route, per message destination, per Burr run.

    Each LLM span is charged to its nearest consumer ancestor (the message it handled), its
    nearest Burr run ancestor, and its trace's root when that is an HTTP server span. The trace
    is one tree across processes, so a call made in a worker lands on the API route too.
    """
    # One pass over the window (the start_ns index) reads every span's place in its tree and,
    # only where it matters, a label: the route of a root server span, the destination of a
    # consumer, the name of a Burr run. The calls are then walked up in Python; an ancestor
    # that started before the window is fetched by primary key.
    label = (
        "CASE WHEN s.kind = 'server' AND s.parent_span_id IS NULL THEN "
        f"coalesce({METHOD_S} || ' ', '') || coalesce({ROUTE_S}, s.name) "
        f"WHEN s.kind = 'consumer' THEN coalesce({DESTINATION_S}, s.name) "
        "WHEN s.scope = 'obs.burr' AND s.name NOT LIKE 'step %' "
        "AND s.name NOT LIKE 'execute_tool %' "
        f"THEN s.name || CASE WHEN {APP_S} IS NULL OR instr(s.name, {APP_S}) > 0 THEN '' "
        f"ELSE ' (' || {APP_S} || ')' END END"
    )
    slot = (
        "CASE WHEN s.kind = 'server' AND s.parent_span_id IS NULL THEN 1 "
        "WHEN s.kind = 'consumer' THEN 2 WHEN s.scope = 'obs.burr' THEN 3 END"
    )
    is_call = f"({LLM})" + (" AND service_name = ?" if window.service else "")
    call_params: list[Any] = [window.service] if window.service else []
    scan = conn.execute(
        f"SELECT s.trace_id, s.span_id, s.parent_span_id, {slot}, {label}, "
        f"CASE WHEN {is_call} THEN {COST} END, {is_call} FROM spans s "
        "WHERE s.start_ns >= ? AND s.start_ns <= ? AND s.is_log = 0",
        (*call_params, *call_params, window.since_ns, window.until_ns),
    )
    nodes: dict[tuple[str, str], tuple[Any, Any, Any]] = {}  # span -> (parent, slot, label)
    calls: list[tuple[str, Any, float]] = []
    for trace_id, span_id, parent, kind_slot, text, cost, call in scan:
        nodes[(trace_id, span_id)] = (parent, kind_slot, text)
        if call:
            calls.append((trace_id, parent, cost or 0.0))

    def node(trace_id: str, span_id: str) -> tuple[Any, Any, Any] | None:
        found = nodes.get((trace_id, span_id))
        if found is None:
            row = conn.execute(
                f"SELECT s.parent_span_id, {slot}, {label} FROM spans s "
                "WHERE s.trace_id = ? AND s.span_id = ?",
                (trace_id, span_id),
            ).fetchone()
            if row is not None:
                found = nodes[(trace_id, span_id)] = (row[0], row[1], row[2])
        return found

    by_slot: list[dict[str, list[float]]] = [{}, {}, {}, {}]
    for trace_id, parent, cost in calls:
        seen: set[int] = set()
        hops = 0
        while parent and hops < 64:  # bounded: a corrupt store may hold a cycle
            hops += 1
            found = node(trace_id, parent)
            if found is None:
                break
            parent, kind_slot, text = found
            if kind_slot and text is not None and kind_slot not in seen:
                seen.add(kind_slot)  # the nearest ancestor of each kind
                entry = by_slot[kind_slot].setdefault(text, [0, 0.0])
                entry[0] += 1
                entry[1] += cost
    by_route, by_destination, by_run = by_slot[1], by_slot[2], by_slot[3]

    def panel(pid: str, title: str, label: str, table: dict[str, list[float]]) -> dict[str, Any]:
        rows = sorted(
            ((k, int(v[0]), round(v[1], 6)) for k, v in table.items()),
            key=lambda r: (-r[2], r[0]),
        )[:200]
        return {
            "id": pid,
            "title": title,
            "type": "table",
            "columns": [label, "llm_calls", "cost_usd"],
            "rows": rows,
        }

    return [
        panel("cost_by_route", "LLM cost per HTTP route", "route", by_route),
        panel(
            "cost_by_destination", "LLM cost per message destination", "destination", by_destination
        ),
        panel("cost_by_run", "LLM cost per Burr run", "run", by_run),
    ]


def burr(conn: sqlite3.Connection, window: Window) -> list[dict[str, Any]]:
    where, params = window.where(BURR_RUN)
    runs = _table(
        conn,
        "runs",
        "Runs",
        "SELECT count(*) AS runs, sum(status = 'error') AS failures, "
        "round(p50(duration_ms), 2) AS p50_ms, round(p95(duration_ms), 2) AS p95_ms "
        f"FROM spans {where}",
        params,
    )
    where, params = window.where(BURR_STEP)
    actions = _table(
        conn,
        "actions",
        "Per action",
        f"SELECT {ACTION} AS action, count(*) AS steps, round(p50(duration_ms), 2) AS p50_ms, "
        "round(p95(duration_ms), 2) AS p95_ms, round(max(duration_ms), 2) AS max_ms, "
        "sum(status = 'error') AS failures "
        f"FROM spans {where} GROUP BY action ORDER BY steps DESC LIMIT 200",
        params,
    )
    series = _series(
        conn,
        "run_series",
        "Runs and failures",
        window,
        BURR_RUN,
        {"runs": "count(*)", "failures": "sum(status = 'error')"},
    )
    return [series, runs, actions]


def metrics(conn: sqlite3.Connection, window: Window, name: str | None) -> list[dict[str, Any]]:
    """The metrics obs wrote to the store: one row per instrument, and one chosen over time."""
    if not has_table(conn, "metrics"):
        return []
    clauses = "time_ns >= ? AND time_ns <= ?"
    params: list[Any] = [window.since_ns, window.until_ns]
    if window.service:
        clauses += " AND service_name = ?"
        params.append(window.service)
    instruments = _table(
        conn,
        "instruments",
        "Instruments",
        "SELECT name, kind, unit, count(*) AS points, "
        "round(sum(CASE WHEN kind = 'counter' THEN value END), 6) AS total, "
        "round(sum(count), 0) AS measurements, max(time) AS last_time "
        f"FROM metrics WHERE {clauses} GROUP BY name, kind, unit ORDER BY name LIMIT 500",
        params,
    )
    panels = [instruments]
    if name:
        bucket = window.bucket_ns
        # Counters add up per bucket; gauges and up-down counters show their mean value;
        # histograms their mean measurement (sum / count).
        series = _table(
            conn,
            "metric_series",
            name,
            f"SELECT (time_ns / {bucket}) * {bucket} AS t, "
            "CASE max(kind) WHEN 'counter' THEN sum(value) "
            "WHEN 'histogram' THEN sum(value) / max(sum(count), 1) ELSE avg(value) END AS value "
            f"FROM metrics WHERE {clauses} AND name = ? GROUP BY t ORDER BY t",
            [*params, name],
        )
        series["type"] = "series"
        series["bucket_ns"] = bucket
        panels.insert(0, series)
    return panels


DASHBOARDS = {"http": http, "messaging": messaging, "llm": llm, "burr": burr}
