"""The local span store: SQLite in WAL mode, one row per span (logs are rows too).

It is the embedded default when no OTLP endpoint is set: a file under ``.obs/`` in the working
directory, private to its user. Several processes (an API server and a worker) can write to
one file. Modules, by responsibility:

- ``_schema``: the layout, its version (``PRAGMA user_version``) and the migrations list;
- ``_files``: file safety (0700/0600, ownership, symlinks, atomic creation, identity);
- ``_writer``: the exporter that writes batches and heals a deleted or replaced file;
- ``_pruning``: keeping file + WAL within the size cap and rows within the age bound;
- ``_reader``: the read-only connection and the trace views (``recent_traces``,
  ``trace_spans``) shared by the ``obs`` command and the local UI;
- ``_functions``: SQL helpers (``p95``, ``attr``, ``ago``, ...).
"""

from obs._store._files import StoreRefused
from obs._store._functions import percentile, register_functions
from obs._store._reader import (
    DEFAULT_TIMEOUT_S,
    MAX_RESULT_BYTES,
    MAX_VALUE_BYTES,
    AmbiguousTraceId,
    ResultTooLarge,
    StoreConnection,
    StoredSpan,
    StoreUnavailable,
    TraceSummary,
    arm_timeout,
    bounded_rows,
    find_trace_id,
    open_read_only,
    recent_traces,
    trace_spans,
)
from obs._store._schema import COLUMNS, MIGRATIONS, Migration, schema_version
from obs._store._writer import (
    DEFAULT_MAX_AGE_S,
    DEFAULT_MAX_SIZE_MB,
    DEFAULT_PATH,
    STORE_QUEUE_SIZE,
    StoreExporter,
    connect,
    open_for_writing,
    resolve_path,
    span_row,
    write_rows,
)

__all__ = [
    "COLUMNS",
    "DEFAULT_MAX_AGE_S",
    "DEFAULT_MAX_SIZE_MB",
    "DEFAULT_PATH",
    "DEFAULT_TIMEOUT_S",
    "MAX_RESULT_BYTES",
    "MAX_VALUE_BYTES",
    "MIGRATIONS",
    "STORE_QUEUE_SIZE",
    "AmbiguousTraceId",
    "Migration",
    "ResultTooLarge",
    "StoreConnection",
    "StoreExporter",
    "StoreRefused",
    "StoreUnavailable",
    "StoredSpan",
    "TraceSummary",
    "arm_timeout",
    "bounded_rows",
    "connect",
    "find_trace_id",
    "open_for_writing",
    "open_read_only",
    "percentile",
    "recent_traces",
    "register_functions",
    "resolve_path",
    "schema_version",
    "span_row",
    "trace_spans",
    "write_rows",
]
