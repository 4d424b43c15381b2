"""Writing spans to the store: opening it safely, inserting batches, keeping it to its cap.

Writes happen off the request path, in the batch span processor's thread. Each batch is one
``BEGIN IMMEDIATE`` transaction (the write lock is taken up front, so a busy store makes the
writer wait its turn instead of failing) that inserts the spans and updates the per-trace
summary rows the trace list reads.

Many processes share one store (an API and its workers). They take turns on SQLite's write
lock (obs._store._locking), so what bounds the store is how long each turn holds it: the rows
are built before the lock is asked for, and the pruner checkpoints the WAL right after a
commit, so that it starts over instead of growing (obs._store._pruning).

What a failure means is said by ``ReportingSpanExporter`` (obs._export_health), which wraps
this exporter: every span not written is counted in ``obs.export.dropped_spans`` and each
outage, and its end, is logged once. ``failure_reason`` carries the one-line why.

Self-healing: before each batch the path's file identity is compared with the open file's; a
store deleted or replaced under a running app is noticed and a new one created. A refused
store (foreign owner, writable by others, trigger planted, newer layout) is checked again on
the next batch, so fixing it resumes writing without a restart.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import weakref
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind, StatusCode

from obs._attributes import safe_text
from obs._diagnostics import logger
from obs._store._files import (
    DEFAULT_PATH,
    StoreRefused,
    check_file,
    create_complete,
    identity,
    prepare_directory,
    remove_orphan_companions,
    resolve_path,
    tighten_default_directory,
)
from obs._store._functions import register_functions
from obs._store._locking import LOCK_WAIT_S, write_transaction
from obs._store._pruning import Pruner
from obs._store._schema import COLUMNS, migrate

DEFAULT_MAX_AGE_S = 7 * 24 * 3600
DEFAULT_MAX_SIZE_MB = 256
BUSY_TIMEOUT_MS = 10_000
#: The write connection's page cache. One batch's transaction dirties a page per span in each
#: index keyed by a (random) trace id; SQLite's default 2 MB made it spill mid-transaction.
WRITE_CACHE_KIB = 8192
#: The batch queue in front of the store (spans waiting while another process writes).
STORE_QUEUE_SIZE = 8192
#: Spans per transaction at most, once they queue up (with a cap of at least the second).
STORE_BATCH_SIZE = 2048
STORE_BATCH_MIN_CAP_MB = 64

_INSERT = (
    f"INSERT OR IGNORE INTO spans ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)})"
)
# The root fields follow the better root candidate: no parent beats a remote parent, then
# the earlier start.
_BETTER_ROOT = "(excluded.root_rank, excluded.root_start_ns) < (root_rank, root_start_ns)"
_ROOT_FIELDS = ("root_rank", "root_start_ns", "root_name", "root_message", "root_service")
_UPSERT_TRACE = (
    "INSERT INTO traces (trace_id, start_ns, end_ns, span_count, error_count, "
    + ", ".join(_ROOT_FIELDS)
    + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (trace_id) DO UPDATE SET "
    "start_ns = min(start_ns, excluded.start_ns), end_ns = max(end_ns, excluded.end_ns), "
    "span_count = span_count + excluded.span_count, "
    "error_count = error_count + excluded.error_count, "
    + ", ".join(
        f"{f} = CASE WHEN {_BETTER_ROOT} THEN excluded.{f} ELSE {f} END" for f in _ROOT_FIELDS
    )
)
_UPSERT_SERVICE = """
INSERT INTO trace_services (trace_id, service, start_ns) VALUES (?, ?, ?)
ON CONFLICT (trace_id, service) DO UPDATE SET start_ns = min(start_ns, excluded.start_ns)
"""
_NO_ROOT = 2**63 - 1


# -- opening -----------------------------------------------------------------------------


def _tune(conn: sqlite3.Connection) -> None:
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    # Functions named in the schema (a planted CHECK or index expression) must not run.
    conn.execute("PRAGMA trusted_schema = OFF")


def _build(tmp: Path) -> None:
    conn = sqlite3.connect(str(tmp), isolation_level=None)
    try:
        # Before the first table: pages freed by pruning can then go back to the filesystem.
        conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        conn.execute("PRAGMA journal_mode = WAL")
        migrate(conn, tmp)
    finally:
        conn.close()


def open_for_writing(path: Path, *, follow_symlink: bool = True) -> sqlite3.Connection:
    """A write connection to a checked, up-to-date store; raises StoreRefused or sqlite3.Error."""
    directory = path.parent
    prepare_directory(directory, follow_symlink=follow_symlink)
    if not follow_symlink:
        tighten_default_directory(directory)
    if not os.path.lexists(path):
        # A -wal left by a store deleted or moved while open belongs to the old file (SQLite
        # does not checkpoint a moved file on close); the new file must not replay it.
        remove_orphan_companions(path)
        create_complete(path, _build)
    check_file(path, follow_symlink=follow_symlink)
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    try:
        _tune(conn)
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode != "wal":  # e.g. a network filesystem: still works, one process at a time
            logger.debug("obs: store %s journal mode %s", path, mode)
        conn.execute("PRAGMA synchronous = NORMAL")
        migrate(conn, path)
        register_functions(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def connect(path: str | os.PathLike[str], *, create: bool = True) -> sqlite3.Connection:
    """A connection with the query helpers: created and migrated if ``create``, else plain."""
    path = Path(path)
    if create:
        return open_for_writing(path)
    if not path.exists():
        raise FileNotFoundError(f"no span store at {path}")
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    register_functions(conn)
    return conn


# -- rows --------------------------------------------------------------------------------


_iso_second = -1
_iso_prefix = ""


def _iso(ns: int) -> str:
    # Spans of one batch share their second: its formatting is cached (strftime is costly).
    global _iso_second, _iso_prefix
    second = ns // 1_000_000_000
    if second != _iso_second:
        stamp = datetime.fromtimestamp(second, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        _iso_prefix, _iso_second = stamp, second
    return f"{_iso_prefix}.{ns // 1000 % 1_000_000:06d}"


# One encoder for every cell: json.dumps with options builds a new encoder on each call.
_encode = json.JSONEncoder(ensure_ascii=False, default=str, separators=(",", ":")).encode


def _json(value: Any) -> str:
    return safe_text(_encode(value))


def _cell(value: Any) -> Any:
    """A text cell SQLite can bind: a lone surrogate (not UTF-8) would fail the whole batch,
    and a sequence value (``obs.msg`` set to a list) cannot be bound at all."""
    if value is None or (type(value) is str and value.isascii()):
        return value
    return safe_text(value if isinstance(value, str) else str(value))


# A process has one or a few Resources: each one's JSON and service name are computed once.
_resource_cache: dict[int, tuple[Any, str, Any]] = {}


def _resource(resource: Any) -> tuple[str, Any]:
    cached = _resource_cache.get(id(resource))
    if cached is None or cached[0] is not resource:
        attributes = dict(resource.attributes) if resource is not None else {}
        if len(_resource_cache) > 64:
            _resource_cache.clear()
        cached = _resource_cache[id(resource)] = (
            resource,
            _json(attributes),
            _cell(attributes.get("service.name")),
        )
    return cached[1], cached[2]


_KINDS = {kind: kind.name.lower() for kind in SpanKind}  # an enum's .name is a slow property


def span_row(span: ReadableSpan) -> tuple[Any, ...]:
    ctx = span.context
    assert ctx is not None
    attrs = dict(span.attributes or {})
    start = span.start_time or 0
    end = span.end_time or start
    status = span.status.status_code
    events = (
        _json(
            [
                {"name": e.name, "time_ns": e.timestamp, "attributes": dict(e.attributes or {})}
                for e in span.events
            ]
        )
        if span.events
        else "[]"
    )
    links = (
        _json(
            [
                {
                    "trace_id": f"{link.context.trace_id:032x}",
                    "span_id": f"{link.context.span_id:016x}",
                    "attributes": dict(link.attributes or {}),
                }
                for link in span.links
            ]
        )
        if span.links
        else "[]"
    )
    resource, service = _resource(span.resource)
    is_log = attrs.get("obs.span_type") == "log"
    return (
        f"{ctx.trace_id:032x}",
        f"{ctx.span_id:016x}",
        f"{span.parent.span_id:016x}" if span.parent is not None else None,
        _cell(span.name),
        _KINDS[span.kind],
        service,
        _cell(span.instrumentation_scope.name) if span.instrumentation_scope else None,
        _iso(start),
        _iso(end),
        start,
        end,
        (end - start) / 1e6,
        "error" if status is StatusCode.ERROR else "ok" if status is StatusCode.OK else "unset",
        _cell(span.status.description),
        1 if is_log else 0,
        _cell(attrs.get("obs.level")) if is_log else None,
        _cell(attrs.get("obs.msg")),
        _json(attrs) if attrs else "{}",
        events,
        links,
        resource,
    )


_TRACE, _PARENT, _NAME, _SERVICE, _START, _END, _STATUS, _MESSAGE = (0, 2, 3, 5, 9, 10, 12, 16)


def write_rows(
    conn: sqlite3.Connection,
    rows: Sequence[tuple[Any, ...]],
    remote_parents: Iterable[bool] | None = None,
    *,
    wait_s: float = LOCK_WAIT_S,
) -> float:
    """Insert span rows and update their traces' summaries, in one transaction; the seconds
    spent waiting for the write lock.

    ``remote_parents`` says, per row, whether the parent is in another process (such a span is
    its process's root of the trace); without it a span with a parent is never a root.
    """
    traces: dict[str, list[Any]] = {}
    services: dict[tuple[str, str], int] = {}
    remote = iter(remote_parents) if remote_parents is not None else None
    for row in rows:
        is_remote = next(remote, False) if remote is not None else False
        trace_id, start, end = row[_TRACE], row[_START], row[_END]
        rank = 0 if row[_PARENT] is None else 1 if is_remote else 2
        summary = traces.get(trace_id)
        if summary is None:
            summary = traces[trace_id] = [trace_id, start, end, 0, 0, 2, _NO_ROOT, None, None, None]
        summary[1] = min(summary[1], start)
        summary[2] = max(summary[2], end)
        summary[3] += 1
        summary[4] += row[_STATUS] == "error"
        if rank < 2 and (rank, start) < (summary[5], summary[6]):
            summary[5:10] = [rank, start, row[_NAME], row[_MESSAGE], row[_SERVICE]]
        key = (trace_id, row[_SERVICE] or "")
        services[key] = min(services.get(key, start), start)
    service_rows = [(t, s, start) for (t, s), start in services.items()]
    with write_transaction(conn, wait_s) as waited:
        conn.executemany(_INSERT, rows)
        conn.executemany(_UPSERT_TRACE, traces.values())
        conn.executemany(_UPSERT_SERVICE, service_rows)
    return waited


def _schema_cookie(conn: sqlite3.Connection) -> int:
    """SQLite's counter of layout changes: cheap to read before every batch."""
    return int(conn.execute("PRAGMA schema_version").fetchone()[0])


# -- the exporter ------------------------------------------------------------------------


class StoreExporter(SpanExporter):
    """Writes batches of spans to the store; used behind a BatchSpanProcessor."""

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        max_age_s: float = DEFAULT_MAX_AGE_S,
        max_size_mb: float = DEFAULT_MAX_SIZE_MB,
        follow_symlink: bool | None = None,
    ) -> None:
        self.path = resolve_path(path)
        # The default `.obs` is not followed when it is a symlink; a path the user named is.
        self.follow_symlink = (
            self.path != DEFAULT_PATH if follow_symlink is None else follow_symlink
        )
        self.pruner = Pruner(self.path, max_age_s=max_age_s, max_size_mb=max_size_mb)
        self._conn: sqlite3.Connection | None = None
        self._identity: tuple[int, int] | None = None
        self._schema_version = 0
        self._lock = threading.Lock()
        self.written = 0
        self.failed = 0
        self.reopened = 0
        #: Batches that found the write lock taken, and the seconds they waited for it.
        self.lock_waits = 0
        self.lock_wait_s = 0.0
        self.failure_reason: str | None = None
        if hasattr(os, "register_at_fork"):
            # A SQLite connection must not cross a fork: a forked worker (gunicorn, uvicorn
            # --workers) opens its own. Weak, so an exporter that is gone is not kept alive.
            ref = weakref.ref(self)

            def reset_in_child() -> None:
                exporter = ref()
                if exporter is not None:
                    exporter._after_fork()

            os.register_at_fork(after_in_child=reset_in_child)

    @property
    def max_age_s(self) -> float:
        return self.pruner.max_age_s

    @property
    def max_size_mb(self) -> float:
        return self.pruner.max_bytes / (1024 * 1024)

    def _after_fork(self) -> None:
        self._conn = None
        self._lock = threading.Lock()

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    def _connection(self) -> sqlite3.Connection:
        if self._conn is not None and identity(self.path) != self._identity:
            # Deleted or replaced under us: writing on would feed a file nobody can read.
            # A moved file gets what its WAL holds first (SQLite skips that on close).
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            self._close()
            self.reopened += 1
        if self._conn is None:
            self._conn = open_for_writing(self.path, follow_symlink=self.follow_symlink)
            self._identity = identity(self.path)
            self._schema_version = _schema_cookie(self._conn)
            self._conn.execute(f"PRAGMA cache_size = -{WRITE_CACHE_KIB}")
            self.pruner.attach(self._conn)
        elif _schema_cookie(self._conn) != self._schema_version:
            # Someone changed the layout while it was open (a trigger added?): check again.
            migrate(self._conn, self.path)
            self._schema_version = _schema_cookie(self._conn)
        return self._conn

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        kept = [s for s in spans if s.context is not None]
        try:
            rows = [span_row(s) for s in kept]
            remote = [s.parent is not None and s.parent.is_remote for s in kept]
        except Exception as exc:
            return self._failed(len(spans), f"a span could not be turned into a row: {exc!r}")
        with self._lock:
            try:
                conn = self._connection()
                waited = write_rows(conn, rows, remote)
            except StoreRefused as exc:
                self._close()
                return self._failed(len(spans), f"refused: {exc}")
            except (sqlite3.Error, OSError) as exc:
                # Closed so the next batch starts clean (a full disk may have been freed).
                self._close()
                return self._failed(len(spans), f"write failed: {exc}")
            self.written += len(rows)
            if waited:
                self.lock_waits += 1
                self.lock_wait_s += waited
            self.failure_reason = None
            self.pruner.after_write(conn, len(rows))
        return SpanExportResult.SUCCESS

    def _failed(self, count: int, reason: str) -> SpanExportResult:
        self.failed += count
        self.failure_reason = reason
        return SpanExportResult.FAILURE

    def prune(self) -> None:
        """Prune now (by age and size), whatever the schedule says."""
        with self._lock:
            self.pruner.prune(self._connection())

    def shutdown(self) -> None:
        with self._lock:
            self._close()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
