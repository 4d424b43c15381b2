"""Live trace list, one trace, and what the filters offer: the SQL behind the Live and Trace pages.

Every query is bounded by an index: the trace list walks ``spans_start`` (start_ns) from the
newest row back and stops after a fixed number of matching rows; the live cursor walks the
rowid (rows written since the page last asked); a trace is read by its primary key prefix.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

SPAN_COLUMNS = (
    "trace_id",
    "span_id",
    "parent_span_id",
    "name",
    "kind",
    "service_name",
    "scope",
    "start_ns",
    "end_ns",
    "duration_ms",
    "status",
    "status_message",
    "is_log",
    "level",
    "message",
    "attributes",
    "events",
    "links",
    "resource",
)
_JSON_COLUMNS = ("attributes", "events", "links", "resource")
#: How many matching rows the list reads per page of traces, at most.
_SCAN_FACTOR = 20


@dataclass(frozen=True)
class TraceFilter:
    """A trace is listed when one of its spans matches every filter given."""

    service: str | None = None
    name: str | None = None  # substring of the span name (or log message)
    status: str | None = None  # 'error', 'ok', 'unset'
    min_ms: float | None = None
    since_ns: int | None = None
    until_ns: int | None = None
    attr_key: str | None = None
    attr_value: str | None = None

    def where(self) -> tuple[list[str], list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if self.service:
            clauses.append("service_name = ?")
            params.append(self.service)
        if self.name:
            clauses.append("(instr(name, ?) > 0 OR instr(coalesce(message, ''), ?) > 0)")
            params += [self.name, self.name]
        if self.status:
            clauses.append("status = ?")
            params.append(self.status)
        if self.min_ms is not None:
            clauses.append("duration_ms >= ?")
            params.append(self.min_ms)
        if self.since_ns is not None:
            clauses.append("start_ns >= ?")
            params.append(self.since_ns)
        if self.until_ns is not None:
            clauses.append("start_ns <= ?")
            params.append(self.until_ns)
        if self.attr_key:
            # The key is a bound parameter inside a quoted JSON path: never part of the SQL.
            path = '$."' + self.attr_key.replace('"', "") + '"'
            if self.attr_value is None or self.attr_value == "":
                clauses.append("json_extract(attributes, ?) IS NOT NULL")
                params.append(path)
            else:
                clauses.append("CAST(json_extract(attributes, ?) AS TEXT) = ?")
                params += [path, self.attr_value]
        return clauses, params


def cursor(conn: sqlite3.Connection) -> int:
    """The newest rowid: the page asks for what was written after it."""
    row = conn.execute("SELECT max(rowid) FROM spans").fetchone()
    return int(row[0] or 0)


def recent_traces(
    conn: sqlite3.Connection,
    flt: TraceFilter,
    *,
    limit: int = 50,
    after_rowid: int | None = None,
    before_ns: int | None = None,
) -> list[dict[str, Any]]:
    """The newest traces with a matching span, newest first, summarised.

    ``after_rowid``: only traces touched by rows written since that cursor (the live update).
    ``before_ns``: older than that (the next page).
    """
    clauses, params = flt.where()
    if after_rowid is not None:
        clauses.append("rowid > ?")
        params.append(after_rowid)
        order = "rowid DESC"
    else:
        order = "start_ns DESC"
    if before_ns is not None:
        clauses.append("start_ns < ?")
        params.append(before_ns)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    ids: list[str] = []
    seen: set[str] = set()
    rows = conn.execute(
        f"SELECT trace_id FROM spans {where} ORDER BY {order} LIMIT ?",
        (*params, limit * _SCAN_FACTOR),
    )
    for (trace_id,) in rows:
        if trace_id not in seen:
            seen.add(trace_id)
            ids.append(trace_id)
            if len(ids) >= limit:
                break
    return summarise(conn, ids)


def summarise(conn: sqlite3.Connection, trace_ids: Sequence[str]) -> list[dict[str, Any]]:
    if not trace_ids:
        return []
    marks = ", ".join("?" for _ in trace_ids)
    summaries: dict[str, dict[str, Any]] = {}
    for tid, start, end, spans, errors, logs, services in conn.execute(
        "SELECT trace_id, min(start_ns), max(end_ns), sum(is_log = 0), sum(status = 'error'), "
        "sum(is_log), group_concat(DISTINCT service_name) "
        f"FROM spans WHERE trace_id IN ({marks}) GROUP BY trace_id",
        tuple(trace_ids),
    ):
        summaries[tid] = {
            "trace_id": tid,
            "start_ns": start,
            "duration_ms": (end - start) / 1e6,
            "spans": spans,
            "errors": errors,
            "logs": logs,
            "services": sorted((services or "").split(",")) if services else [],
            "root": None,
            "root_service": None,
        }
    # The root: the span without a parent (spans_parent index); until it has ended and been
    # written (it ends last), the earliest span stands in.
    for tid, name, message, service in conn.execute(
        "SELECT trace_id, name, message, service_name FROM spans "
        f"WHERE trace_id IN ({marks}) AND parent_span_id IS NULL ORDER BY start_ns DESC",
        tuple(trace_ids),
    ):
        if tid in summaries:
            summaries[tid]["root"] = message or name
            summaries[tid]["root_service"] = service
    missing = [t for t, s in summaries.items() if s["root"] is None]
    for tid in missing:
        row = conn.execute(
            "SELECT name, message, service_name FROM spans WHERE trace_id = ? "
            "ORDER BY start_ns LIMIT 1",
            (tid,),
        ).fetchone()
        if row:
            summaries[tid]["root"] = row[1] or row[0]
            summaries[tid]["root_service"] = row[2]
            summaries[tid]["partial"] = True
    return sorted(summaries.values(), key=lambda s: s["start_ns"], reverse=True)


def _decode(row: Sequence[Any]) -> dict[str, Any]:
    span = dict(zip(SPAN_COLUMNS, row, strict=True))
    for column in _JSON_COLUMNS:
        try:
            span[column] = json.loads(span[column] or "null")
        except ValueError:
            span[column] = {"(unreadable)": span[column]}
    return span


def trace_spans(conn: sqlite3.Connection, trace_id: str) -> list[dict[str, Any]]:
    """Every span and log of one trace, by start time (primary key prefix)."""
    rows = conn.execute(
        f"SELECT {', '.join(SPAN_COLUMNS)} FROM spans WHERE trace_id = ? ORDER BY start_ns",
        (trace_id,),
    ).fetchall()
    return [_decode(r) for r in rows]


def resolve_trace_id(conn: sqlite3.Connection, prefix: str) -> list[str]:
    """Full trace ids starting with ``prefix`` (hex only), at most two."""
    prefix = "".join(c for c in prefix.lower() if c in "0123456789abcdef")[:32]
    if not prefix:
        return []
    upper = prefix + "g"  # past every hex digit: a range on the primary key, not a LIKE scan
    return [
        r[0]
        for r in conn.execute(
            "SELECT DISTINCT trace_id FROM spans WHERE trace_id >= ? AND trace_id < ? LIMIT 2",
            (prefix, upper),
        )
    ]


def services(conn: sqlite3.Connection) -> list[str]:
    """The services seen in the newest rows (bounded: cheap on any store size)."""
    rows = conn.execute(
        "SELECT DISTINCT service_name FROM (SELECT service_name FROM spans "
        "ORDER BY start_ns DESC LIMIT 20000) WHERE service_name IS NOT NULL"
    )
    return sorted(r[0] for r in rows)


def time_range(conn: sqlite3.Connection) -> tuple[int | None, int | None]:
    # Two subqueries: each is one step down the start_ns index. min() and max() in one
    # SELECT would scan the whole index instead.
    row = conn.execute(
        "SELECT (SELECT min(start_ns) FROM spans), (SELECT max(start_ns) FROM spans)"
    ).fetchone()
    return (row[0], row[1]) if row else (None, None)
