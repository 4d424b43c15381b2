"""Reading the store: a strictly read-only connection, and the queries the trace views need.

``open_read_only`` is what the ``obs`` command (and the local UI) use: the file is opened with
``mode=ro`` (or ``immutable=1`` when even that cannot work: a read-only filesystem, or a
directory the reader cannot write its ``-shm`` into), and an authorizer allows only reading:
no ATTACH/DETACH (so no VACUUM INTO, which attaches), no PRAGMA that sets anything, no write,
no extension loading. A read-only connection never checkpoints, so reading a store whose
writer died leaves its WAL as it was. Each statement can be given a time limit
(``arm_timeout``), enforced by a progress handler, which also keeps Ctrl-C working during a
long query. No string or blob a statement builds or reads may exceed ``MAX_VALUE_BYTES``.

``recent_traces`` and ``trace_spans`` answer from indexes (the ``traces`` summary table and
the spans primary key), so they stay fast at millions of rows.
"""

from __future__ import annotations

import math
import os
import re
import sqlite3
import stat
import sys
import time
import urllib.parse
from collections.abc import Iterable
from pathlib import Path

from obs._records import TYPE_CHECKING
from obs._store._functions import register_functions
from obs._store._schema import newer_message, schema_version

if TYPE_CHECKING:
    from typing import Any, NamedTuple
else:
    from obs._records import NamedTuple

#: PRAGMAs a reader may run, without a value (a value sets something).
READ_PRAGMAS = frozenset(
    {
        "user_version",
        "schema_version",
        "page_count",
        "page_size",
        "freelist_count",
        "journal_mode",
        "auto_vacuum",
        "encoding",
        "application_id",
        "data_version",
        "compile_options",
        "database_list",
        "collation_list",
        "function_list",
        "pragma_list",
        "module_list",
        "table_list",
    }
)
#: PRAGMAs whose argument is a table or index name to describe.
DESCRIBE_PRAGMAS = frozenset(
    {"table_info", "table_xinfo", "index_list", "index_info", "index_xinfo", "foreign_key_list"}
)
DENIED_FUNCTIONS = frozenset({"load_extension", "readfile", "writefile", "edit", "fts3_tokenizer"})
DEFAULT_TIMEOUT_S = 5.0
#: The largest string or blob a reader's statement may build or read. A time limit does not
#: bound memory: one step can build a gigabyte (``printf('%.*c', 1e9, 'x')``, ``zeroblob``).
MAX_VALUE_BYTES = 64 * 1024 * 1024
_HEX = re.compile(r"[0-9a-f]{1,32}")
#: What one result may hold in strings and blobs. Each value is capped (``MAX_VALUE_BYTES``),
#: but within its time limit a query can still return thousands of large rows.
MAX_RESULT_BYTES = 256 * 1024 * 1024


class ResultTooLarge(ValueError):
    """A query's result would hold more than its byte budget (the message says so, one line)."""


def bounded_rows(
    cursor: Iterable[Any], *, max_rows: int | None = None, max_bytes: int = MAX_RESULT_BYTES
) -> tuple[list[Any], bool]:
    """Up to ``max_rows`` rows of ``cursor`` (and whether more were there), within ``max_bytes``.

    Every reader of person-typed SQL (``obs query``, the UI's Explore page) fetches through
    this, so no query can make them hold an unbounded result.
    """
    rows: list[Any] = []
    size = 0
    for row in cursor:
        if max_rows is not None and len(rows) >= max_rows:
            return rows, True
        size += sum(len(v) for v in row if isinstance(v, (str, bytes))) + 8 * len(row)
        if size > max_bytes:
            raise ResultTooLarge(
                f"the result is too large (over {max_bytes // 2**20} MB); "
                "select fewer rows or smaller values"
            )
        rows.append(row)
    return rows, False


class StoreUnavailable(Exception):
    """The store cannot be read; the message is one line for the person who asked."""


class StoreConnection(sqlite3.Connection):
    """A read-only store connection with a per-statement deadline and an interrupt flag."""

    deadline: float | None = None
    interrupted: bool = False
    immutable: bool = False
    timed_out: bool = False

    def _progress(self) -> int:
        if self.interrupted:
            return 1
        if self.deadline is not None and time.monotonic() > self.deadline:
            self.timed_out = True
            return 1
        return 0


def _authorize(
    action: int, arg1: str | None, arg2: str | None, db: str | None, src: str | None
) -> int:
    if action in (sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_RECURSIVE):
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_FUNCTION:
        return (
            sqlite3.SQLITE_DENY if (arg2 or "").lower() in DENIED_FUNCTIONS else sqlite3.SQLITE_OK
        )
    if action == sqlite3.SQLITE_PRAGMA:
        name = (arg1 or "").lower()
        if (name in READ_PRAGMAS and arg2 is None) or name in DESCRIBE_PRAGMAS:
            return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


def _uri(path: Path, option: str) -> str:
    return f"file:{urllib.parse.quote(str(path.absolute()))}?{option}"


def _connect(path: Path, option: str) -> StoreConnection:
    conn = sqlite3.connect(
        _uri(path, option), uri=True, factory=StoreConnection, check_same_thread=False
    )
    assert isinstance(conn, StoreConnection)
    conn.set_authorizer(_authorize)
    conn.set_progress_handler(conn._progress, 1000)
    if sys.version_info >= (3, 11):  # setlimit is 3.11+; 3.10 has only the command's budget
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
    register_functions(conn)
    return conn


def _probe(conn: StoreConnection) -> int:
    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def open_read_only(path: str | os.PathLike[str]) -> StoreConnection:
    """A read-only connection to the store at ``path``, or StoreUnavailable saying why."""
    path = Path(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise StoreUnavailable(
            f"no span store at {path} (run a program configured with obs first, or pass "
            "--db PATH / set OBS_STORE_PATH)"
        ) from None
    except OSError as exc:
        raise StoreUnavailable(f"cannot read {path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise StoreUnavailable(f"{path} is a directory, not a span store")
    if not stat.S_ISREG(info.st_mode):  # a FIFO would block the open; a device is no store
        raise StoreUnavailable(f"{path} is not a regular file, so not a span store")
    if info.st_size == 0:
        raise StoreUnavailable(f"{path} is empty, not a span store")
    if not os.access(path, os.R_OK):
        raise StoreUnavailable(f"cannot read {path}: permission denied")
    conn: StoreConnection | None = None
    try:
        try:
            conn = _connect(path, "mode=ro")
            version = _probe(conn)
        except sqlite3.OperationalError:
            # A read-only filesystem or directory: no -shm can be made. immutable=1 reads the
            # main file as it is (what the WAL holds since the last checkpoint is not seen).
            if conn is not None:
                conn.close()
            conn = _connect(path, "immutable=1")
            conn.immutable = True
            version = _probe(conn)
    except sqlite3.DatabaseError as exc:
        if conn is not None:
            conn.close()
        raise StoreUnavailable(f"{path} is not a readable SQLite span store ({exc})") from None
    if version > schema_version():
        conn.close()
        raise StoreUnavailable(newer_message(path, version))
    if not _has_table(conn, "spans"):
        conn.close()
        raise StoreUnavailable(f"{path} has no spans table, so it is not an obs span store")
    return conn


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
    ).fetchone()
    return row is not None


def _integer(value: Any) -> int:
    """A stored time or count as an int. SQLite keeps any type in any column: a hostile row's
    text, blob or infinity reads as 0 rather than break the view that shows it."""
    if type(value) is int:
        return value
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    return 0


def arm_timeout(conn: sqlite3.Connection, seconds: float | None) -> None:
    """Stop statements that run longer than ``seconds`` from now (None: no limit)."""
    if isinstance(conn, StoreConnection):
        conn.timed_out = False
        conn.deadline = None if seconds is None else time.monotonic() + seconds


# -- the trace views ---------------------------------------------------------------------


# NamedTuples, not dataclasses: `dataclasses` imports `inspect` (and `ast`, `dis`, ...), a fifth
# of what the obs command loaded before it could read a row.
class TraceSummary(NamedTuple):
    trace_id: str
    start_ns: int
    end_ns: int
    duration_ms: float
    span_count: int
    error_count: int
    services: tuple[str, ...]
    root_name: str | None  # the root span's name (low cardinality: filter on this)
    root_label: str | None  # what to show: a templated root's rendered message, else its name
    root_service: str | None
    #: The root span's ``http.response.status_code``, when it answered an HTTP request.
    root_status_code: int | None = None


_STATUS_CODE = (
    # json_valid first: a hostile row (deeply nested, malformed) yields NULL, never an error.
    "CASE WHEN json_valid({0}.attributes) "
    "THEN {0}.attributes ->> '$.\"http.response.status_code\"' END"
)
_TRACE_COLUMNS = (
    "t.trace_id, t.start_ns, t.end_ns, t.span_count, t.error_count, t.root_name, "
    "t.root_message, t.root_service, "
    "(SELECT group_concat(s2.service, char(31)) FROM trace_services s2 "
    " WHERE s2.trace_id = t.trace_id) AS services, "
    # The root's status code: one look-up among the trace's own rows (primary-key prefix).
    # `+s3.name` keeps SQLite off the (name, start_ns) index, which it would otherwise pick to
    # save sorting the trace's few rows, walking every span with the root's name instead: with
    # 20 route names in 200k spans, 120 ms rather than 0.1 ms for `obs traces` (and 10x that
    # at 2M spans).
    f"(SELECT {_STATUS_CODE.format('s3')} FROM spans s3 "
    " WHERE s3.trace_id = t.trace_id AND +s3.name = t.root_name "
    " ORDER BY s3.start_ns LIMIT 1) AS root_status"
)


def _status_code(value: object) -> int | None:
    return value if type(value) is int and 100 <= value <= 999 else None


def recent_traces(
    conn: sqlite3.Connection,
    *,
    limit: int = 20,
    service: str | None = None,
    name: str | None = None,
    status: str | None = None,
    min_duration_ms: float | None = None,
    since_ns: int | None = None,
    until_ns: int | None = None,
) -> list[TraceSummary]:
    """The newest traces (by start), filtered; answered from the ``traces`` indexes.

    ``name`` is the root span's name, exactly; ``status`` is ``"error"`` (a span failed) or
    ``"ok"``; times are Unix nanoseconds on the trace's start.
    """
    if not _has_table(conn, "traces"):
        raise StoreUnavailable(
            "this store has an older layout; it is upgraded the next time a program configured "
            "with obs writes to it (obs query still reads its spans table)"
        )
    clauses: list[str] = []
    params: list[Any] = []
    if name is not None:
        clauses.append("t.root_name = ?")
        params.append(name)
    if status == "error":
        clauses.append("t.error_count > 0")
    elif status == "ok":
        clauses.append("t.error_count = 0")
    elif status is not None:
        raise ValueError(f"status is 'error' or 'ok', not {status!r}")
    if min_duration_ms is not None:
        clauses.append("t.end_ns - t.start_ns >= ?")
        params.append(int(min_duration_ms * 1e6))
    if service is not None:
        # Walk the (service, start_ns) index newest first; stop at `limit`.
        source = "trace_services s JOIN traces t ON t.trace_id = s.trace_id"
        clauses.insert(0, "s.service = ?")
        params.insert(0, service)
        order = "s.start_ns"
    else:
        source = "traces t"
        order = "t.start_ns"
    if since_ns is not None:
        clauses.append(f"{order} >= ?")
        params.append(since_ns)
    if until_ns is not None:
        clauses.append(f"{order} <= ?")
        params.append(until_ns)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    sql = f"SELECT {_TRACE_COLUMNS} FROM {source} {where} ORDER BY {order} DESC LIMIT ?"
    rows = conn.execute(sql, (*params, max(0, int(limit)))).fetchall()
    return [
        TraceSummary(
            trace_id=trace_id,
            start_ns=_integer(start),
            end_ns=_integer(end),
            duration_ms=(_integer(end) - _integer(start)) / 1e6,
            span_count=_integer(count),
            error_count=_integer(errors),
            services=tuple(sorted(s or "?" for s in (services or "").split("\x1f"))),
            root_name=root_name,
            root_label=root_message or root_name,
            root_service=root_service,
            root_status_code=_status_code(root_status),
        )
        for (
            trace_id,
            start,
            end,
            count,
            errors,
            root_name,
            root_message,
            root_service,
            services,
            root_status,
        ) in rows
    ]


class StoredSpan(NamedTuple):
    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    kind: str
    service_name: str | None
    start_ns: int
    end_ns: int
    status: str
    status_message: str | None
    is_log: bool
    level: str | None
    message: str | None
    error_type: str | None  # the `error.type` attribute, read without parsing hostile JSON here
    attributes: str  # JSON text, as stored
    events: str
    links: str
    resource: str
    #: ``http.response.status_code``, read like ``error_type``.
    status_code: int | None = None

    @property
    def duration_ms(self) -> float:
        return (self.end_ns - self.start_ns) / 1e6


class AmbiguousTraceId(ValueError):
    pass


def find_trace_id(conn: sqlite3.Connection, prefix: str) -> str | None:
    """The one trace id starting with ``prefix``; None if there is none.

    Raises ValueError for a prefix that is not hex, AmbiguousTraceId when several match.
    """
    prefix = prefix.strip().lower()
    if not _HEX.fullmatch(prefix):
        raise ValueError(f"{prefix!r} is not a trace id (1 to 32 hex digits)")
    # A range on the primary key, not LIKE (which does not use the index here).
    high = prefix + "g"
    ids = [
        row[0]
        for row in conn.execute(
            "SELECT DISTINCT trace_id FROM spans WHERE trace_id >= ? AND trace_id < ? LIMIT 2",
            (prefix, high),
        )
    ]
    if len(ids) > 1:
        raise AmbiguousTraceId(f"{prefix!r} matches several traces; give more digits")
    return ids[0] if ids else None


_SPAN_COLUMNS = (
    "trace_id, span_id, parent_span_id, name, kind, service_name, start_ns, end_ns, status, "
    "status_message, is_log, level, message, "
    # json_valid first: a hostile row (deeply nested, malformed) yields NULL, never an error.
    "CASE WHEN json_valid(attributes) THEN attributes ->> '$.\"error.type\"' END, "
    "attributes, events, links, resource, " + _STATUS_CODE.format("spans")
)


def trace_spans(conn: sqlite3.Connection, trace_id_prefix: str) -> list[StoredSpan]:
    """The spans of one trace (an id prefix is enough), by start time; [] if none matches."""
    trace_id = find_trace_id(conn, trace_id_prefix)
    if trace_id is None:
        return []
    rows = conn.execute(
        f"SELECT {_SPAN_COLUMNS} FROM spans WHERE trace_id = ? ORDER BY start_ns", (trace_id,)
    ).fetchall()
    spans = []
    for row in rows:
        values = list(row)
        values[6] = _integer(values[6])
        values[7] = _integer(values[7])
        values[10] = bool(values[10])
        error_type = values[13]
        values[13] = None if error_type is None else str(error_type)
        values[18] = _status_code(values[18])
        spans.append(StoredSpan(*values))
    return spans
