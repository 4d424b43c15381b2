"""The evaluator: every interval, if this process holds the store's lease, compute each rule
over its window, advance the incidents and hand notifications to delivery.

It runs on a daemon thread (or in the foreground under ``obs alerts run``), never on a request
path; its queries are bounded in time and run in SQLite's C code. A failing rule is counted and
said once; the evaluator keeps going.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opentelemetry import metrics as metrics_api

from obs._alerts import state as st
from obs._alerts.channels import Channel, Notification
from obs._alerts.delivery import Deliverer
from obs._alerts.loading import AlertConfig
from obs._alerts.queries import GroupValue, Reader, evaluate, example_trace
from obs._alerts.rules import Rule
from obs._diagnostics import logger, warn_once
from obs._scrubbing import Scrubber
from obs._store import connect
from obs._version import VERSION


@dataclass
class _Change:
    rule: Rule
    state: st.GroupState
    value: GroupValue | None
    transition: st.Transition | None


class Evaluator:
    def __init__(
        self,
        config: AlertConfig,
        store_path: str | os.PathLike[str],
        *,
        scrubber: Scrubber | None = None,
        deliverer: Deliverer | None = None,
    ) -> None:
        self.config = config
        self.path = Path(store_path)
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.holder = f"{self.host}:{self.pid}:{secrets.token_hex(4)}"
        self.deliverer = deliverer or Deliverer(scrubber)
        self.is_leader = False
        self.evaluations = 0
        self.failures = 0
        self.busy = 0  # evaluations skipped because the store was locked
        self._failure_counter = metrics_api.get_meter("obs", VERSION).create_counter(
            "obs.alerts.evaluation_failures",
            unit="{failure}",
            description="Alert rules or evaluations that failed (query error, over budget)",
        )
        self._conn: sqlite3.Connection | None = None
        self._reader: Reader | None = None
        self._rules_written = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- connections --------------------------------------------------------------------
    def _connections(self) -> tuple[sqlite3.Connection, Reader]:
        if self._conn is None:
            conn = connect(self.path)  # creates the store when no span was written yet
            conn.isolation_level = None  # explicit BEGIN IMMEDIATE transactions
            # Short: the evaluator waits for the store's writers, never they for long on it.
            conn.execute("PRAGMA busy_timeout = 2000")
            st.create_tables(conn)
            self._conn = conn
        if self._reader is None:
            self._reader = Reader(self.path, self.config.query_budget_s)
        return self._conn, self._reader

    def _close_connections(self) -> None:
        for closeable in (self._reader, self._conn):
            if closeable is not None:
                with contextlib.suppress(Exception):  # a broken connection: nothing to save
                    closeable.close()
        self._reader, self._conn = None, None

    # -- one evaluation -----------------------------------------------------------------
    def evaluate_once(self, now_ns: int | None = None) -> list[Notification]:
        """Evaluate every rule once if this process holds the lease; the notifications sent."""
        now = now_ns if now_ns is not None else time.time_ns()
        conn, reader = self._connections()
        ttl_ns = int(self.config.ttl_s * 1e9)
        leader = st.acquire_lease(conn, self.holder, self.host, self.pid, ttl_ns, now)
        if leader and not self.is_leader:
            logger.info("obs: this process evaluates the alert rules of %s", self.path)
            self._rules_written = False
        self.is_leader = leader
        if not leader:
            return []
        self.evaluations += 1

        changes: list[_Change] = []
        errors: dict[str, str] = {}
        for rule in self.config.rules:
            try:
                values = evaluate(reader, rule, now)
                changes.extend(self._advance(conn, reader, rule, values, now))
            except Exception as exc:
                self.failures += 1
                self._failure_counter.add(1, {"rule": rule.name})
                errors[rule.name] = _describe(exc)
                warn_once(
                    f"alert-rule:{rule.name}:{type(exc).__name__}",
                    "obs: alert rule %r could not be evaluated (%s); it is retried every "
                    "evaluation, and this is said once",
                    rule.name,
                    errors[rule.name],
                )

        sent: list[tuple[Notification, tuple[Channel, ...]]] = []
        with st.immediate(conn):
            if not st.holds_lease(conn, self.holder):  # lost it while evaluating: write nothing
                self.is_leader = False
                return []
            if not self._rules_written:
                st.write_rules(conn, (r.describe() for r in self.config.rules), now)
                self._rules_written = True
            for name, error in errors.items():
                conn.execute(
                    "INSERT INTO alert_state (rule, group_key, evaluated_ns, error) VALUES "
                    "(?, '', ?, ?) ON CONFLICT(rule, group_key) DO UPDATE SET evaluated_ns = "
                    "excluded.evaluated_ns, error = excluded.error",
                    (name, now, error),
                )
            for change in changes:
                notification = self._write(conn, change, now)
                if notification is not None:
                    sent.append((notification, change.rule.channels))
            conn.execute(
                "DELETE FROM alert_incidents WHERE state = 'resolved' AND id NOT IN (SELECT id "
                "FROM alert_incidents WHERE state = 'resolved' ORDER BY id DESC LIMIT ?)",
                (st.KEEP_RESOLVED,),
            )
        for notification, channels in sent:
            self.deliverer.send(notification, channels)
        return [n for n, _ in sent]

    def _advance(
        self,
        conn: sqlite3.Connection,
        reader: Reader,
        rule: Rule,
        values: Sequence[GroupValue],
        now: int,
    ) -> list[_Change]:
        states = st.load_states(conn, rule.name)
        by_key = {v.key: v for v in values}
        changes = []
        for key in dict.fromkeys([*by_key, *states]):
            value = by_key.get(key)
            state = states.get(key) or st.GroupState(key, dict(value.group) if value else {})
            breaching = value is not None and value.value is not None and rule.breaches(value.value)
            transition = st.step(
                state,
                breaching,
                now,
                for_s=rule.for_s,
                consecutive=rule.consecutive,
                resolve_after_s=rule.resolve_after_s,
                repeat_interval_s=rule.repeat_interval_s,
            )
            if transition is not None and transition.kind in ("fire", "repeat") and value:
                trace = value.trace_id or example_trace(reader, rule, state.group, now)
                state.trace_id = trace or state.trace_id
            changes.append(_Change(rule, state, value, transition))
        return changes

    def _write(self, conn: sqlite3.Connection, change: _Change, now: int) -> Notification | None:
        rule, state, gv, transition = change.rule, change.state, change.value, change.transition
        value = gv.value if gv is not None else None
        keep = gv is not None or state.breaches or state.incident_id is not None
        if keep:
            conn.execute(
                "INSERT INTO alert_state (rule, group_key, group_json, value, sample_count, "
                "breaching, breaches, first_breach_ns, ok_since_ns, evaluated_ns, error) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL) ON CONFLICT(rule, group_key) DO "
                "UPDATE SET group_json = excluded.group_json, value = excluded.value, "
                "sample_count = excluded.sample_count, breaching = excluded.breaching, breaches "
                "= excluded.breaches, first_breach_ns = excluded.first_breach_ns, ok_since_ns = "
                "excluded.ok_since_ns, evaluated_ns = excluded.evaluated_ns, error = NULL",
                (
                    rule.name,
                    state.group_key,
                    json.dumps(state.group, default=str),
                    value,
                    gv.count if gv is not None else 0,
                    int(state.breaches > 0),
                    state.breaches,
                    state.first_breach_ns,
                    state.ok_since_ns,
                    now,
                ),
            )
        else:  # a group that went quiet with nothing open: forget it (bounded state)
            conn.execute(
                "DELETE FROM alert_state WHERE rule = ? AND group_key = ?",
                (rule.name, state.group_key),
            )
        peak = _worse(rule, state.peak_value, value)
        if transition is None:
            if state.incident_id is not None and value is not None:
                conn.execute(
                    "UPDATE alert_incidents SET value = ?, peak_value = ? WHERE id = ?",
                    (value, peak, state.incident_id),
                )
            return None
        if transition.kind == "fire":
            started = state.first_breach_ns or now
            cursor = conn.execute(
                "INSERT INTO alert_incidents (rule, group_key, group_json, state, value, "
                "peak_value, threshold, comparison, started_ns, last_notified_ns, trace_id) "
                "VALUES (?, ?, ?, 'firing', ?, ?, ?, ?, ?, ?, ?)",
                (
                    rule.name,
                    state.group_key,
                    json.dumps(state.group, default=str),
                    value,
                    value,
                    rule.threshold,
                    rule.comparison,
                    started,
                    now,
                    state.trace_id,
                ),
            )
            state.incident_id, state.started_ns = int(cursor.lastrowid or 0), started
        elif transition.kind == "repeat":
            conn.execute(
                "UPDATE alert_incidents SET value = ?, peak_value = ?, last_notified_ns = ?, "
                "notifications = notifications + 1, trace_id = coalesce(?, trace_id) WHERE id = ?",
                (value, peak, now, state.trace_id, state.incident_id),
            )
        else:
            conn.execute(
                "UPDATE alert_incidents SET state = 'resolved', resolved_ns = ?, value = ?, "
                "notifications = notifications + 1 WHERE id = ?",
                (now, value, state.incident_id),
            )
        assert state.incident_id is not None
        return Notification(
            rule=rule.name,
            state="resolved" if transition.kind == "resolve" else "firing",
            metric=rule.metric_label,
            value=value,
            threshold=rule.threshold,
            comparison=rule.comparison,
            unit=rule.unit,
            window_s=rule.window_s,
            group={k: _short(v) for k, v in state.group.items()},
            incident_id=state.incident_id,
            started_ns=state.started_ns or now,
            at_ns=now,
            resolved_ns=now if transition.kind == "resolve" else None,
            repeat=transition.kind == "repeat",
            example_trace_id=state.trace_id,
            store=str(self.path),
            host=self.host,
            description=rule.description,
        )

    # -- running ------------------------------------------------------------------------
    def run(self, stop: threading.Event | None = None) -> None:
        """Evaluate every interval until ``stop`` is set (the foreground loop)."""
        stop = stop or self._stop
        while not stop.is_set():
            started = time.monotonic()
            self._evaluate_safely()
            stop.wait(max(0.05, self.config.interval_s - (time.monotonic() - started)))

    def _evaluate_safely(self) -> None:
        try:
            self.evaluate_once()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                self._failed(exc)
            else:  # the store's writers are busy: try again next interval, nothing to say
                self.busy += 1
        except Exception as exc:
            self._failed(exc)

    def _failed(self, exc: Exception) -> None:
        self.failures += 1
        self._failure_counter.add(1, {"rule": ""})
        warn_once(
            f"alert-evaluation:{type(exc).__name__}",
            "obs: alert evaluation over %s failed (%s); retried every interval, the "
            "application is unaffected. Said once.",
            self.path,
            _describe(exc),
        )
        self._close_connections()  # a fresh connection next time

    def start(self) -> Evaluator:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self.run, name="obs-alerts-evaluator", daemon=True
            )
            self._thread.start()
        return self

    def stop(self, timeout_s: float = 2.0) -> None:
        """Stop evaluating, hand the lease back, deliver what is queued: all bounded."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout_s)
            if thread.is_alive():  # stuck in the store: leave it, the lease will expire
                self.deliverer.close(timeout_s)
                return
        if self.is_leader and self._conn is not None:
            with contextlib.suppress(sqlite3.Error):  # else it expires on its own
                st.release_lease(self._conn, self.holder)
            self.is_leader = False
        self._close_connections()
        self.deliverer.close(timeout_s)


def _short(value: Any, limit: int = 256) -> Any:
    # Group values come from the store (routes, services, a query's columns): a chat message
    # needs only enough to recognise them.
    if isinstance(value, str) and len(value) > limit:
        return value[: limit - 1] + "…"
    return value


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _worse(rule: Rule, old: float | None, new: float | None) -> float | None:
    if old is None:
        return new
    if new is None:
        return old
    return min(old, new) if rule.comparison in ("<", "<=") else max(old, new)
