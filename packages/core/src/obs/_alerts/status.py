"""Reading alert state from a store, for ``obs alerts`` and the UI: plain dicts, read-only."""

from __future__ import annotations

import json
import socket
import sqlite3
import time
from typing import Any

from obs._alerts.channels import _iso
from obs._alerts.state import pid_alive


def _tables(conn: sqlite3.Connection) -> set[str]:
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'alert%'"
    ).fetchall()
    return {r[0] for r in rows}


def _json(text: str | None, default: Any) -> Any:
    try:
        return json.loads(text) if text else default
    except ValueError:
        return default


def alert_status(conn: sqlite3.Connection, *, resolved_limit: int = 20) -> dict[str, Any]:
    """Rules with their current values, open and recent incidents, and who evaluates.

    ``{"rules": [...], "open": [...], "resolved": [...], "evaluator": {...} | None}``; every
    value is plain data (str, int, float, None, lists, dicts). A store without alert tables
    gives empty lists. Never writes.
    """
    tables = _tables(conn)
    out: dict[str, Any] = {"rules": [], "open": [], "resolved": [], "evaluator": None}
    if "alert_rules" in tables:
        states: dict[str, list[dict[str, Any]]] = {}
        if "alert_state" in tables:
            for rule, group_json, value, count, breaching, evaluated, error in conn.execute(
                "SELECT rule, group_json, value, sample_count, breaching, evaluated_ns, error "
                "FROM alert_state ORDER BY rule, group_key"
            ):
                states.setdefault(rule, []).append(
                    {
                        "group": _json(group_json, {}),
                        "value": value,
                        "count": count,
                        "breaching": bool(breaching),
                        "evaluated_at": _iso(evaluated),
                        "error": error,
                    }
                )
        for name, spec, updated in conn.execute(
            "SELECT name, spec, updated_ns FROM alert_rules ORDER BY name"
        ):
            rule = _json(spec, {})
            rule.update(name=name, updated_at=_iso(updated), values=states.get(name, []))
            out["rules"].append(rule)
    if "alert_incidents" in tables:
        columns = (
            "id, rule, group_json, state, value, peak_value, threshold, comparison, started_ns, "
            "last_notified_ns, notifications, resolved_ns, trace_id"
        )
        for key, where, order, limit in (
            ("open", "state = 'firing'", "started_ns", -1),
            ("resolved", "state = 'resolved'", "resolved_ns DESC", resolved_limit),
        ):
            for row in conn.execute(
                f"SELECT {columns} FROM alert_incidents WHERE {where} ORDER BY {order} LIMIT ?",
                (limit,),
            ):
                (iid, rule, group, state, value, peak, threshold, comparison, started,
                 notified, count, resolved, trace) = row  # fmt: skip
                out[key].append(
                    {
                        "id": iid,
                        "rule": rule,
                        "group": _json(group, {}),
                        "state": state,
                        "value": value,
                        "peak_value": peak,
                        "threshold": threshold,
                        "comparison": comparison,
                        "started_at": _iso(started),
                        "last_notified_at": _iso(notified),
                        "notifications": count,
                        "resolved_at": _iso(resolved),
                        "example_trace_id": trace,
                    }
                )
    if "alert_lease" in tables:
        row = conn.execute(
            "SELECT holder, host, pid, acquired_ns, expires_ns FROM alert_lease"
        ).fetchone()
        if row is not None:
            holder, host, pid, acquired, expires = row
            out["evaluator"] = {
                "holder": holder,
                "host": host,
                "pid": pid,
                "since": _iso(acquired),
                "expires_at": _iso(expires),
                # A holder on this machine whose process is gone is not running, lease or not.
                "active": expires > time.time_ns()
                and (host != socket.gethostname() or pid_alive(pid)),
            }
    return out
