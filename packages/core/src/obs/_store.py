"""The local span store: SQLite in WAL mode, one row per span (logs are rows too).

It is the embedded default when no OTLP endpoint is set: a file under ``.obs/`` in the working
directory. Several processes (an API server and a worker) can write to one file: WAL lets
readers and one writer at a time proceed, and a busy timeout makes writers wait their turn.
Writes happen off the request path, in the batch span processor's thread; a failure to write
is logged once and never reaches the application. The store is bounded by age and size:
older rows are pruned as new ones arrive.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import StatusCode

from obs._diagnostics import internal_error

DEFAULT_PATH = Path(".obs") / "spans.db"
DEFAULT_MAX_AGE_S = 7 * 24 * 3600
DEFAULT_MAX_SIZE_MB = 256
#: Prune at most this often (per writing process).
PRUNE_EVERY_S = 30.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS spans (
    trace_id        TEXT NOT NULL,
    span_id         TEXT NOT NULL,
    parent_span_id  TEXT,
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL,
    service_name    TEXT,
    scope           TEXT,
    start_time      TEXT NOT NULL,   -- UTC 'YYYY-MM-DD HH:MM:SS.ffffff': compares with datetime()
    end_time        TEXT NOT NULL,
    start_ns        INTEGER NOT NULL,
    end_ns          INTEGER NOT NULL,
    duration_ms     REAL NOT NULL,
    status          TEXT NOT NULL,   -- 'unset', 'ok' or 'error'
    status_message  TEXT,
    is_log          INTEGER NOT NULL DEFAULT 0,
    level           TEXT,
    message         TEXT,
    attributes      TEXT NOT NULL DEFAULT '{}',
    events          TEXT NOT NULL DEFAULT '[]',
    links           TEXT NOT NULL DEFAULT '[]',
    resource        TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (trace_id, span_id)
);
CREATE INDEX IF NOT EXISTS spans_start ON spans (start_ns);
CREATE INDEX IF NOT EXISTS spans_name ON spans (name, start_ns);
CREATE INDEX IF NOT EXISTS spans_parent ON spans (trace_id, parent_span_id);
"""

COLUMNS = (
    "trace_id",
    "span_id",
    "parent_span_id",
    "name",
    "kind",
    "service_name",
    "scope",
    "start_time",
    "end_time",
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
_INSERT = (
    f"INSERT OR REPLACE INTO spans ({', '.join(COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in COLUMNS)})"
)


def resolve_path(path: str | os.PathLike[str] | None) -> Path:
    if path is not None:
        return Path(path)
    return Path(os.environ.get("OBS_STORE_PATH") or DEFAULT_PATH)


def connect(path: str | os.PathLike[str], *, create: bool = True) -> sqlite3.Connection:
    """A connection with the schema, WAL, a busy timeout and the query helper functions."""
    path = Path(path)
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    elif not path.exists():
        raise FileNotFoundError(f"no span store at {path}")
    conn = sqlite3.connect(str(path), timeout=10.0, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 10000")
    if create:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode != "wal":  # e.g. a network filesystem: still works, one process at a time
            internal_error(f"store journal mode {mode}")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.executescript(SCHEMA)
    register_functions(conn)
    return conn


# -- SQL helpers, so the classic questions read well --------------------------------------


class _Percentile:
    def __init__(self) -> None:
        self.values: list[float] = []
        self.p: float | None = None

    def step(self, value: float | None, p: float) -> None:
        if value is not None:
            self.values.append(float(value))
        self.p = float(p)

    def finalize(self) -> float | None:
        return percentile(self.values, self.p if self.p is not None else 50.0)


def percentile(values: list[float], p: float) -> float | None:
    """Linear interpolation between closest ranks (as numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * max(0.0, min(100.0, p)) / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _fixed(p: float) -> type:
    class Fixed(_Percentile):
        def step(self, value: float | None) -> None:  # type: ignore[override]
            super().step(value, p)

    return Fixed


def _attr(attributes: str | None, key: str) -> Any:
    if not attributes:
        return None
    try:
        value = json.loads(attributes).get(key)
    except (ValueError, AttributeError):
        return None
    return json.dumps(value) if isinstance(value, (list, dict)) else value


def register_functions(conn: sqlite3.Connection) -> None:
    conn.create_aggregate("percentile", 2, _Percentile)  # type: ignore[arg-type]
    for p in (50, 90, 95, 99):
        conn.create_aggregate(f"p{p}", 1, _fixed(p))
    conn.create_function("attr", 2, _attr, deterministic=True)


# -- writing -----------------------------------------------------------------------------


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))


def _row(span: ReadableSpan) -> tuple[Any, ...]:
    ctx = span.context
    assert ctx is not None
    attrs = dict(span.attributes or {})
    start = span.start_time or 0
    end = span.end_time or start
    status = span.status.status_code
    events = [
        {"name": e.name, "time_ns": e.timestamp, "attributes": dict(e.attributes or {})}
        for e in span.events
    ]
    links = [
        {
            "trace_id": f"{link.context.trace_id:032x}",
            "span_id": f"{link.context.span_id:016x}",
            "attributes": dict(link.attributes or {}),
        }
        for link in span.links
    ]
    resource = dict(span.resource.attributes) if span.resource is not None else {}
    is_log = attrs.get("obs.span_type") == "log"
    return (
        f"{ctx.trace_id:032x}",
        f"{ctx.span_id:016x}",
        f"{span.parent.span_id:016x}" if span.parent is not None else None,
        span.name,
        span.kind.name.lower(),
        resource.get("service.name"),
        span.instrumentation_scope.name if span.instrumentation_scope else None,
        _iso(start),
        _iso(end),
        start,
        end,
        (end - start) / 1e6,
        "error" if status is StatusCode.ERROR else "ok" if status is StatusCode.OK else "unset",
        span.status.description,
        1 if is_log else 0,
        attrs.get("obs.level") if is_log else None,
        attrs.get("obs.msg"),
        _json(attrs),
        _json(events),
        _json(links),
        _json(resource),
    )


class StoreExporter(SpanExporter):
    """Writes batches of spans to the store; used behind a BatchSpanProcessor."""

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        max_age_s: float = DEFAULT_MAX_AGE_S,
        max_size_mb: float = DEFAULT_MAX_SIZE_MB,
    ) -> None:
        self.path = resolve_path(path)
        self.max_age_s = max_age_s
        self.max_size_mb = max_size_mb
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._last_prune = 0.0
        self.written = 0
        self.failed = 0
        if hasattr(os, "register_at_fork"):
            # A SQLite connection must not cross a fork: a forked worker (gunicorn, uvicorn
            # --workers) opens its own. Weak, so an exporter that is gone is not kept alive.
            ref = weakref.ref(self)

            def reset_in_child() -> None:
                exporter = ref()
                if exporter is not None:
                    exporter._after_fork()

            os.register_at_fork(after_in_child=reset_in_child)

    def _after_fork(self) -> None:
        self._conn = None
        self._lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = connect(self.path)
        return self._conn

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            rows = [_row(s) for s in spans if s.context is not None]
            with self._lock:
                conn = self._connection()
                with conn:
                    conn.executemany(_INSERT, rows)
                self.written += len(rows)
                if time.monotonic() - self._last_prune > PRUNE_EVERY_S:
                    self._prune(conn)
            return SpanExportResult.SUCCESS
        except Exception as exc:
            self.failed += len(spans)
            internal_error(f"writing spans to the local store {self.path}", exc)
            return SpanExportResult.FAILURE

    def prune(self) -> None:
        with self._lock:
            self._prune(self._connection())

    def _prune(self, conn: sqlite3.Connection) -> None:
        self._last_prune = time.monotonic()
        cutoff = time.time_ns() - int(self.max_age_s * 1e9)
        with conn:
            conn.execute("DELETE FROM spans WHERE start_ns < ?", (cutoff,))
        limit = self.max_size_mb * 1024 * 1024
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
        used = (pages - free) * page_size
        if used <= limit:
            return
        count = conn.execute("SELECT count(*) FROM spans").fetchone()[0]
        if count == 0:
            return
        # Keep as many of the newest rows as fit in 80% of the limit at the current bytes per
        # row; the space freed inside pages is reused by later inserts, so the file stays
        # near the limit instead of growing.
        keep = int(count * (0.8 * limit) / used)
        with conn:
            conn.execute(
                "DELETE FROM spans WHERE rowid IN "
                "(SELECT rowid FROM spans ORDER BY start_ns LIMIT ?)",
                (count - keep,),
            )

    def shutdown(self) -> None:
        with self._lock:
            if self._conn is not None:
                try:
                    self._conn.close()
                finally:
                    self._conn = None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
