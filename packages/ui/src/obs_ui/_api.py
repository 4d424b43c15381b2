"""The JSON API: query-string parameters in, the queries' results out.

Every parameter comes from a request and is treated as hostile: numbers are parsed or the
request is refused, names are bound parameters, nothing is pasted into SQL.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Mapping
from typing import Any

from obs import alert_status
from obs._alerts.vocabulary import format_value
from obs._llm_cost import price_table
from obs_ui._db import has_table
from obs_ui._queries import dashboards, explore, traces


class BadRequest(Exception):
    """The request asked for something malformed: a 400 with this message."""


class NotFound(Exception):
    """A 404 with this message."""


def _one(params: Mapping[str, list[str]], key: str) -> str | None:
    values = params.get(key)
    if not values:
        return None
    value = values[0].strip()
    return value[:500] or None


def _number(params: Mapping[str, list[str]], key: str) -> float | None:
    value = _one(params, key)
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        raise BadRequest(f"{key} must be a number") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise BadRequest(f"{key} must be a finite number")
    return number


def _int(params: Mapping[str, list[str]], key: str) -> int | None:
    number = _number(params, key)
    return None if number is None else int(number)


def meta(conn: sqlite3.Connection, store_path: str) -> dict[str, Any]:
    first, last = traces.time_range(conn)
    table = price_table()
    return {
        "store": store_path,
        "services": traces.services(conn),
        "first_ns": first,
        "last_ns": last,
        "now_ns": time.time_ns(),
        "has_metrics": has_table(conn, "metrics"),
        "has_alerts": has_table(conn, "alert_rules"),
        "prices_as_of": table.as_of,
        "example_sql": explore.EXAMPLE,
        "tables_help": explore.TABLES_HELP,
    }


def _filter(params: Mapping[str, list[str]]) -> traces.TraceFilter:
    attr = _one(params, "attr")
    key = value = None
    if attr:
        key, _, value = attr.partition("=")
        key, value = key.strip(), value.strip()
    status = _one(params, "status")
    if status not in (None, "error", "ok", "unset"):
        raise BadRequest("status must be error, ok or unset")
    return traces.TraceFilter(
        service=_one(params, "service"),
        name=_one(params, "name"),
        status=status,
        min_ms=_number(params, "min_ms"),
        since_ns=_int(params, "since"),
        until_ns=_int(params, "until"),
        attr_key=key or None,
        attr_value=value,
    )


def trace_list(conn: sqlite3.Connection, params: Mapping[str, list[str]]) -> dict[str, Any]:
    flt = _filter(params)
    limit = max(1, min(_int(params, "limit") or 50, 500))
    # The cursor first: a row written while the list is read comes again next time, never
    # falls between two polls.
    cursor = traces.cursor(conn)
    after = _int(params, "after")
    rows = traces.recent_traces(
        conn, flt, limit=limit, after_rowid=after, before_ns=_int(params, "before")
    )
    return {"cursor": cursor, "traces": rows}


def trace(conn: sqlite3.Connection, trace_id: str) -> dict[str, Any]:
    ids = traces.resolve_trace_id(conn, trace_id)
    if not ids:
        raise NotFound("no such trace")
    if len(ids) > 1:
        raise BadRequest("several traces start with these digits; give more")
    return {"trace_id": ids[0], "spans": traces.trace_spans(conn, ids[0])}


def dashboard(
    conn: sqlite3.Connection, name: str, params: Mapping[str, list[str]]
) -> dict[str, Any]:
    now = time.time_ns()
    until = _int(params, "until") or now
    since = _int(params, "since") or until - 3600 * 1_000_000_000
    if since >= until:
        raise BadRequest("since must be before until")
    window = dashboards.Window(since, until, _one(params, "service"))
    if name == "metrics":
        panels = dashboards.metrics(conn, window, _one(params, "metric"))
    elif name in dashboards.DASHBOARDS:
        panels = dashboards.DASHBOARDS[name](conn, window)
    else:
        raise NotFound("no such dashboard")
    return {"name": name, "since": since, "until": until, "panels": panels}


def query(conn: sqlite3.Connection, body: Mapping[str, Any]) -> dict[str, Any]:
    sql = body.get("sql")
    if not isinstance(sql, str) or not sql.strip():
        raise BadRequest('give the SQL as {"sql": "SELECT ..."}')
    try:
        return explore.run(conn, sql)
    except ValueError as exc:  # SQL errors go up as they are: the time limit reads them
        raise BadRequest(str(exc)) from None


def alerts(conn: sqlite3.Connection) -> dict[str, Any]:
    """``obs.alert_status``: rules with their values per group, incidents, the evaluator.

    Each value and threshold also comes as text, formatted as ``obs alerts`` prints it
    (``15%``, ``1.2s``), so the page shows the same figures as the command.
    """
    status = alert_status(conn)
    units: dict[str, str] = {}
    for rule in status["rules"]:
        unit = rule.get("unit") if isinstance(rule.get("unit"), str) else ""
        units[str(rule.get("name"))] = unit
        rule["threshold_text"] = _value_text(rule.get("threshold"), unit)
        for value in rule.get("values") or []:
            value["value_text"] = _value_text(value.get("value"), unit)
    for key in ("open", "resolved"):
        for incident in status[key]:
            unit = units.get(str(incident.get("rule")), "")
            incident["value_text"] = _value_text(incident.get("value"), unit)
            incident["peak_text"] = _value_text(incident.get("peak_value"), unit)
            incident["threshold_text"] = _value_text(incident.get("threshold"), unit)
    return status


def _value_text(value: Any, unit: str) -> str:
    if value is not None and not isinstance(value, int | float):
        return str(value)  # a stored row that is not a number is shown as it is
    return format_value(value, unit)
