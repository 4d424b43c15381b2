"""The store's layout, its version, and the migrations that bring any older layout up to date.

The layout is the list ``MIGRATIONS``: each entry is one step, applied in order, inside one
transaction; ``PRAGMA user_version`` records how many have run. Adding a table (metrics,
alerts, ...) is one more entry at the end of the list, nothing else. A store whose version is
higher than ``len(MIGRATIONS)`` was written by a newer obs: it is left alone.

Before writing, ``check_objects`` refuses a file holding triggers or views (obs creates none: a
trigger would run on obs's own inserts, with the writer's rights) or an index obs created whose
SQL is not what obs wrote. Tables and indexes obs does not know are left alone, so another tool
(or a newer module) can keep its own tables in the file.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from functools import cache

from obs._records import TYPE_CHECKING
from obs._store._files import StoreRefused
from obs._store._locking import write_transaction

if TYPE_CHECKING:
    from typing import NamedTuple
else:
    from obs._records import NamedTuple

#: The columns of ``spans``, with declarations that also work for ``ALTER TABLE ADD COLUMN``
#: (a NOT NULL column added later needs a default).
SPAN_COLUMNS: tuple[tuple[str, str], ...] = (
    ("trace_id", "TEXT NOT NULL"),
    ("span_id", "TEXT NOT NULL"),
    ("parent_span_id", "TEXT"),
    ("name", "TEXT NOT NULL DEFAULT ''"),
    ("kind", "TEXT NOT NULL DEFAULT 'internal'"),
    ("service_name", "TEXT"),
    ("scope", "TEXT"),
    # UTC 'YYYY-MM-DD HH:MM:SS.ffffff': compares with datetime(); filter on start_ns instead
    ("start_time", "TEXT NOT NULL DEFAULT ''"),
    ("end_time", "TEXT NOT NULL DEFAULT ''"),
    ("start_ns", "INTEGER NOT NULL DEFAULT 0"),
    ("end_ns", "INTEGER NOT NULL DEFAULT 0"),
    ("duration_ms", "REAL NOT NULL DEFAULT 0"),
    ("status", "TEXT NOT NULL DEFAULT 'unset'"),  # 'unset', 'ok' or 'error'
    ("status_message", "TEXT"),
    ("is_log", "INTEGER NOT NULL DEFAULT 0"),
    ("level", "TEXT"),
    ("message", "TEXT"),
    ("attributes", "TEXT NOT NULL DEFAULT '{}'"),
    ("events", "TEXT NOT NULL DEFAULT '[]'"),
    ("links", "TEXT NOT NULL DEFAULT '[]'"),
    ("resource", "TEXT NOT NULL DEFAULT '{}'"),
)
COLUMNS = tuple(name for name, _ in SPAN_COLUMNS)

_SPANS_TABLE = (
    "CREATE TABLE IF NOT EXISTS spans (\n    "
    + ",\n    ".join(f"{name} {decl}" for name, decl in SPAN_COLUMNS)
    + ",\n    PRIMARY KEY (trace_id, span_id)\n)"
)


class Migration(NamedTuple):  # not a dataclass: see the reader's TraceSummary
    """One step of the layout: SQL statements, then an optional function, in one transaction."""

    name: str
    statements: Sequence[str] = ()
    apply: Callable[[sqlite3.Connection], None] | None = None


def _add_missing_span_columns(conn: sqlite3.Connection) -> None:
    # An early obs wrote a narrower `spans`; its rows stay, the new columns take defaults.
    present = {row[1] for row in conn.execute("PRAGMA table_info(spans)")}
    for name, decl in SPAN_COLUMNS:
        if name not in present:
            if decl == "TEXT NOT NULL":  # a key column: not something obs ever left out
                raise StoreRefused(f"its spans table has no {name} column: not an obs store")
            conn.execute(f"ALTER TABLE spans ADD COLUMN {name} {decl}")


_BACKFILL_TRACES = """
INSERT OR IGNORE INTO traces (trace_id, start_ns, end_ns, span_count, error_count,
                              root_rank, root_start_ns, root_name, root_message, root_service)
SELECT s.trace_id, min(s.start_ns), max(s.end_ns), count(*), sum(s.status = 'error'),
       2, 9223372036854775807, NULL, NULL, NULL
FROM spans s GROUP BY s.trace_id
"""
# The root of a stored trace: the earliest span whose parent is not in the trace.
_BACKFILL_ROOTS = """
UPDATE traces SET (root_rank, root_start_ns, root_name, root_message, root_service) = (
    SELECT CASE WHEN r.parent_span_id IS NULL THEN 0 ELSE 1 END, r.start_ns, r.name, r.message,
           r.service_name
    FROM spans r
    WHERE r.trace_id = traces.trace_id
      AND (r.parent_span_id IS NULL OR NOT EXISTS (
           SELECT 1 FROM spans p WHERE p.trace_id = r.trace_id AND p.span_id = r.parent_span_id))
    ORDER BY r.parent_span_id IS NOT NULL, r.start_ns LIMIT 1)
WHERE root_name IS NULL AND EXISTS (SELECT 1 FROM spans r WHERE r.trace_id = traces.trace_id)
"""
_BACKFILL_SERVICES = """
INSERT OR IGNORE INTO trace_services (trace_id, service, start_ns)
SELECT trace_id, coalesce(service_name, ''), min(start_ns) FROM spans GROUP BY 1, 2
"""


def _backfill_traces(conn: sqlite3.Connection) -> None:
    for sql in (_BACKFILL_TRACES, _BACKFILL_ROOTS, _BACKFILL_SERVICES):
        conn.execute(sql)
    # Traces whose root could not be told keep rank 2; the list shows them with their id.


MIGRATIONS: list[Migration] = [
    Migration(
        "spans",
        (
            _SPANS_TABLE,
            "CREATE INDEX IF NOT EXISTS spans_start ON spans (start_ns)",
            "CREATE INDEX IF NOT EXISTS spans_name ON spans (name, start_ns)",
        ),
    ),
    Migration("spans: columns an older obs lacked", apply=_add_missing_span_columns),
    Migration(
        "traces: one summary row per trace, kept up to date on insert",
        (
            # spans' primary key already serves (trace_id, ...) lookups
            "DROP INDEX IF EXISTS spans_parent",
            "CREATE TABLE traces (\n"
            "    trace_id      TEXT PRIMARY KEY,\n"
            "    start_ns      INTEGER NOT NULL,\n"
            "    end_ns        INTEGER NOT NULL,\n"
            "    span_count    INTEGER NOT NULL,\n"
            "    error_count   INTEGER NOT NULL,\n"
            "    root_rank     INTEGER NOT NULL,  -- 0 no parent, 1 remote parent, 2 unknown\n"
            "    root_start_ns INTEGER NOT NULL,\n"
            "    root_name     TEXT,\n"
            "    root_message  TEXT,\n"
            "    root_service  TEXT\n"
            ") WITHOUT ROWID",
            "CREATE INDEX traces_start ON traces (start_ns)",
            "CREATE INDEX traces_root_name ON traces (root_name, start_ns)",
            "CREATE TABLE trace_services (\n"
            "    trace_id TEXT NOT NULL,\n"
            "    service  TEXT NOT NULL,  -- '' when the span had no service.name\n"
            "    start_ns INTEGER NOT NULL,\n"
            "    PRIMARY KEY (trace_id, service)\n"
            ") WITHOUT ROWID",
            "CREATE INDEX trace_services_service ON trace_services (service, start_ns)",
        ),
        apply=_backfill_traces,
    ),
    Migration(
        # The UI's dashboards and the alert rules select by kind over a time window (server
        # spans per route, client spans per model): measured 14 -> 4 ms for the trace list and
        # about a third off the day-long dashboards on a 2-million-span store.
        "spans: (kind, start_ns) index",
        ("CREATE INDEX IF NOT EXISTS spans_kind_start ON spans (kind, start_ns)",),
    ),
]


def schema_version() -> int:
    return len(MIGRATIONS)


def newer_message(path: object, version: int) -> str:
    return (
        f"the store {path} was written by a newer obs (layout {version}; this obs knows up to "
        f"{schema_version()}): upgrade obs (pip install -U obs-core), or point OBS_STORE_PATH "
        "at another file"
    )


def migrate(conn: sqlite3.Connection, path: object) -> None:
    """Bring the store up to ``schema_version()``, or refuse it. ``conn`` is in autocommit."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > schema_version():
        raise StoreRefused(newer_message(path, version))
    check_objects(conn)
    if version == schema_version():
        return
    with write_transaction(conn):
        # Another process may have migrated while this one waited for the write lock.
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > schema_version():
            raise StoreRefused(newer_message(path, version))
        for step in MIGRATIONS[version:]:
            for statement in step.statements:
                conn.execute(statement)
            if step.apply is not None:
                step.apply(conn)
        conn.execute(f"PRAGMA user_version = {schema_version()}")


@cache
def expected_indexes() -> dict[str, str]:
    """The SQL of every index the migrations create, as SQLite stores it."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        for step in MIGRATIONS:
            for statement in step.statements:
                conn.execute(statement)
        return dict(
            conn.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            )
        )
    finally:
        conn.close()


def check_objects(conn: sqlite3.Connection) -> None:
    """Refuse triggers, views, and obs's own indexes changed behind its back."""
    expected = expected_indexes()
    for kind, name, sql in conn.execute("SELECT type, name, sql FROM sqlite_master"):
        if kind in ("trigger", "view"):
            raise StoreRefused(
                f"it holds a {kind} ({name!r}) that obs did not create; obs will not write to it "
                "(remove it, or move the file away and let obs create a new one)"
            )
        if kind == "index" and name in expected and sql != expected[name]:
            raise StoreRefused(f"its index {name!r} is not the one obs created")
