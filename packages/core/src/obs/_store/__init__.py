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

Names load on first use (``obs._lazy``): the ``obs`` command's read path (``_reader``) must not
import the writer, which brings the OpenTelemetry SDK's exporter classes.
"""

from __future__ import annotations

from obs._lazy import lazy_dir, lazy_exports
from obs._records import TYPE_CHECKING

if TYPE_CHECKING:
    from obs._store._files import DEFAULT_PATH, StoreRefused, resolve_path
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
        STORE_BATCH_MIN_CAP_MB,
        STORE_BATCH_SIZE,
        STORE_QUEUE_SIZE,
        StoreExporter,
        connect,
        open_for_writing,
        span_row,
        write_rows,
    )

_EXPORTS = {
    "COLUMNS": "obs._store._schema",
    "DEFAULT_MAX_AGE_S": "obs._store._writer",
    "DEFAULT_MAX_SIZE_MB": "obs._store._writer",
    "DEFAULT_PATH": "obs._store._files",
    "DEFAULT_TIMEOUT_S": "obs._store._reader",
    "MAX_RESULT_BYTES": "obs._store._reader",
    "MAX_VALUE_BYTES": "obs._store._reader",
    "MIGRATIONS": "obs._store._schema",
    "STORE_BATCH_MIN_CAP_MB": "obs._store._writer",
    "STORE_BATCH_SIZE": "obs._store._writer",
    "STORE_QUEUE_SIZE": "obs._store._writer",
    "AmbiguousTraceId": "obs._store._reader",
    "Migration": "obs._store._schema",
    "ResultTooLarge": "obs._store._reader",
    "StoreConnection": "obs._store._reader",
    "StoreExporter": "obs._store._writer",
    "StoreRefused": "obs._store._files",
    "StoreUnavailable": "obs._store._reader",
    "StoredSpan": "obs._store._reader",
    "TraceSummary": "obs._store._reader",
    "arm_timeout": "obs._store._reader",
    "bounded_rows": "obs._store._reader",
    "connect": "obs._store._writer",
    "find_trace_id": "obs._store._reader",
    "open_for_writing": "obs._store._writer",
    "open_read_only": "obs._store._reader",
    "percentile": "obs._store._functions",
    "recent_traces": "obs._store._reader",
    "register_functions": "obs._store._functions",
    "resolve_path": "obs._store._files",
    "schema_version": "obs._store._schema",
    "span_row": "obs._store._writer",
    "trace_spans": "obs._store._reader",
    "write_rows": "obs._store._writer",
}

if not TYPE_CHECKING:  # type checkers see the imports above, and no catch-all __getattr__
    __getattr__ = lazy_exports(__name__, _EXPORTS)
    __dir__ = lazy_dir(__name__, _EXPORTS)

__all__ = [
    "COLUMNS",
    "DEFAULT_MAX_AGE_S",
    "DEFAULT_MAX_SIZE_MB",
    "DEFAULT_PATH",
    "DEFAULT_TIMEOUT_S",
    "MAX_RESULT_BYTES",
    "MAX_VALUE_BYTES",
    "MIGRATIONS",
    "STORE_BATCH_MIN_CAP_MB",
    "STORE_BATCH_SIZE",
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
