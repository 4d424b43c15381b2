"""Alert state in the store: the evaluator lease, each rule's current values, incidents.

Everything lives in the shared store so every process sees one truth: one evaluator at a time
(a lease row: holder, expiry; taken over when it expires or its holder process is gone), and
incidents that survive restarts. Writes are short ``BEGIN IMMEDIATE`` transactions; a state
change is written only while the writer still holds the lease (a fence), so two processes
never both notify.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

#: The alert tables. The lead moves this into the store's migrations at merge.
DDL = """
CREATE TABLE IF NOT EXISTS alert_lease (
    name         TEXT PRIMARY KEY,
    holder       TEXT NOT NULL,
    host         TEXT NOT NULL,
    pid          INTEGER NOT NULL,
    acquired_ns  INTEGER NOT NULL,
    expires_ns   INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS alert_rules (
    name         TEXT PRIMARY KEY,
    spec         TEXT NOT NULL,           -- JSON: Rule.describe()
    updated_ns   INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS alert_state (
    rule             TEXT NOT NULL,
    group_key        TEXT NOT NULL,
    group_json       TEXT NOT NULL DEFAULT '{}',
    value            REAL,
    sample_count     INTEGER NOT NULL DEFAULT 0,
    breaching        INTEGER NOT NULL DEFAULT 0,
    breaches         INTEGER NOT NULL DEFAULT 0,   -- consecutive breaching evaluations
    first_breach_ns  INTEGER,
    ok_since_ns      INTEGER,                      -- recovering since (while firing)
    evaluated_ns     INTEGER NOT NULL,
    error            TEXT,
    PRIMARY KEY (rule, group_key)
);
CREATE TABLE IF NOT EXISTS alert_incidents (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    rule              TEXT NOT NULL,
    group_key         TEXT NOT NULL,
    group_json        TEXT NOT NULL DEFAULT '{}',
    state             TEXT NOT NULL,               -- 'firing' or 'resolved'
    value             REAL,
    peak_value        REAL,
    threshold         REAL NOT NULL,
    comparison        TEXT NOT NULL,
    started_ns        INTEGER NOT NULL,
    last_notified_ns  INTEGER NOT NULL,
    notifications     INTEGER NOT NULL DEFAULT 1,
    resolved_ns       INTEGER,
    trace_id          TEXT
);
CREATE INDEX IF NOT EXISTS alert_incidents_open ON alert_incidents (state, rule, group_key);
"""

LEASE_NAME = "evaluator"
#: Resolved incidents kept for ``obs alerts`` and the UI.
KEEP_RESOLVED = 500


def create_tables(conn: sqlite3.Connection) -> None:
    conn.executescript(DDL)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    except OSError:
        return True
    return True


@dataclass(frozen=True)
class Lease:
    holder: str
    host: str
    pid: int
    acquired_ns: int
    expires_ns: int


def read_lease(conn: sqlite3.Connection) -> Lease | None:
    row = conn.execute(
        "SELECT holder, host, pid, acquired_ns, expires_ns FROM alert_lease WHERE name = ?",
        (LEASE_NAME,),
    ).fetchone()
    return Lease(*row) if row else None


def acquire_lease(
    conn: sqlite3.Connection, holder: str, host: str, pid: int, ttl_ns: int, now_ns: int
) -> bool:
    """Take or renew the lease; False while another live holder has it."""

    def free(current: Lease | None) -> bool:
        return (
            current is None
            or current.holder == holder
            or current.expires_ns < now_ns
            # Same machine and its process is gone (killed, crashed): no need to wait.
            or (current.host == host and current.pid != pid and not pid_alive(current.pid))
        )

    # A follower only reads: it takes the store's write lock only when the lease looks free.
    if not free(read_lease(conn)):
        return False
    conn.execute("BEGIN IMMEDIATE")  # outside the try: a busy store raises with no txn open
    try:
        current = read_lease(conn)
        if free(current):
            acquired = current.acquired_ns if current and current.holder == holder else now_ns
            conn.execute(
                "INSERT INTO alert_lease (name, holder, host, pid, acquired_ns, expires_ns) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET holder = "
                "excluded.holder, host = excluded.host, pid = excluded.pid, acquired_ns = "
                "excluded.acquired_ns, expires_ns = excluded.expires_ns",
                (LEASE_NAME, holder, host, pid, acquired, now_ns + ttl_ns),
            )
            conn.execute("COMMIT")
            return True
        conn.execute("COMMIT")
        return False
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def release_lease(conn: sqlite3.Connection, holder: str) -> None:
    with _immediate(conn):
        conn.execute("DELETE FROM alert_lease WHERE name = ? AND holder = ?", (LEASE_NAME, holder))


class _immediate:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self.conn.execute("ROLLBACK" if exc_type is not None else "COMMIT")


immediate = _immediate


def holds_lease(conn: sqlite3.Connection, holder: str) -> bool:
    row = conn.execute("SELECT holder FROM alert_lease WHERE name = ?", (LEASE_NAME,)).fetchone()
    return row is not None and row[0] == holder


def write_rules(conn: sqlite3.Connection, specs: Iterable[dict[str, Any]], now_ns: int) -> None:
    """The evaluator's rule set, so ``obs alerts`` and the UI can list it (inside a txn)."""
    specs = list(specs)
    names = [s["name"] for s in specs]
    conn.execute("DELETE FROM alert_rules")
    conn.executemany(
        "INSERT INTO alert_rules (name, spec, updated_ns) VALUES (?, ?, ?)",
        [(s["name"], json.dumps(s, default=str), now_ns) for s in specs],
    )
    # State of rules that are gone would show stale values forever, and their incidents stay
    # open: closed here, without a notification (the rule and its channels are gone).
    marks = ", ".join("?" for _ in names) or "NULL"
    conn.execute(f"DELETE FROM alert_state WHERE rule NOT IN ({marks})", names)
    conn.execute(
        f"UPDATE alert_incidents SET state = 'resolved', resolved_ns = ? WHERE state = 'firing' "
        f"AND rule NOT IN ({marks})",
        [now_ns, *names],
    )


# -- the incident state machine ------------------------------------------------------------


@dataclass
class GroupState:
    """One (rule, group): the damping counters and the open incident, if any."""

    group_key: str
    group: dict[str, Any]
    breaches: int = 0
    first_breach_ns: int | None = None
    ok_since_ns: int | None = None
    incident_id: int | None = None
    started_ns: int | None = None
    last_notified_ns: int | None = None
    peak_value: float | None = None
    trace_id: str | None = None


@dataclass(frozen=True)
class Transition:
    kind: str  # "fire", "repeat" or "resolve"


def step(
    state: GroupState,
    breaching: bool,
    now_ns: int,
    *,
    for_s: float,
    consecutive: int,
    resolve_after_s: float,
    repeat_interval_s: float | None,
) -> Transition | None:
    """Advance one evaluation; the notification to send, if any. Mutates ``state``.

    Firing needs ``consecutive`` breaching evaluations in a row spanning at least ``for_s``;
    resolving needs the rule to stay recovered for ``resolve_after_s``: both damp flapping.
    """
    firing = state.incident_id is not None
    if breaching:
        state.ok_since_ns = None
        if state.breaches == 0 or state.first_breach_ns is None:
            state.first_breach_ns = now_ns
        state.breaches += 1
        if firing:
            last = state.last_notified_ns or 0
            if repeat_interval_s and now_ns - last >= repeat_interval_s * 1e9:
                return Transition("repeat")
            return None
        held_ns = now_ns - state.first_breach_ns
        if state.breaches >= consecutive and held_ns >= for_s * 1e9:
            return Transition("fire")
        return None
    state.breaches = 0
    state.first_breach_ns = None
    if not firing:
        return None
    if state.ok_since_ns is None:
        state.ok_since_ns = now_ns
    if now_ns - state.ok_since_ns >= resolve_after_s * 1e9:
        return Transition("resolve")
    return None


def load_states(conn: sqlite3.Connection, rule: str) -> dict[str, GroupState]:
    states: dict[str, GroupState] = {}
    for key, group_json, breaches, first, ok_since in conn.execute(
        "SELECT group_key, group_json, breaches, first_breach_ns, ok_since_ns FROM alert_state "
        "WHERE rule = ?",
        (rule,),
    ):
        states[key] = GroupState(key, _group(group_json), breaches, first, ok_since)
    for iid, key, group_json, started, notified, peak, trace in conn.execute(
        "SELECT id, group_key, group_json, started_ns, last_notified_ns, peak_value, trace_id "
        "FROM alert_incidents WHERE state = 'firing' AND rule = ?",
        (rule,),
    ):
        state = states.setdefault(key, GroupState(key, _group(group_json)))
        state.incident_id, state.started_ns, state.last_notified_ns = iid, started, notified
        state.peak_value, state.trace_id = peak, trace
    return states


def _group(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
