"""Opening the store for the UI: the store's own read-only connection, with a time limit.

The Explore page runs SQL a person typed (or a page that tricked their browser typed), so the
connection is the one the ``obs`` command uses (``obs._store.open_read_only``): opened
``mode=ro``, with an authorizer that allows reading and functions only (no writes, ATTACH,
PRAGMA that sets anything, extension loading). A deadline per request interrupts a statement
that runs past it, so one query cannot hold a thread.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from obs._store import StoreConnection, StoreUnavailable
from obs._store import open_read_only as _store_open_read_only

#: Per request: a typed query or a list; a dashboard gets six times as long.
DEFAULT_TIME_LIMIT_S = 5.0

__all__ = ["DEFAULT_TIME_LIMIT_S", "QueryTimeout", "StoreUnavailable", "open_read_only"]


class QueryTimeout(Exception):
    """A statement ran past its time limit and was interrupted."""


def open_read_only(path: Path) -> StoreConnection:
    """A connection that cannot change the store, whatever SQL it is given."""
    return _store_open_read_only(path)


@contextmanager
def time_limit(conn: StoreConnection, seconds: float) -> Iterator[None]:
    """Interrupt any statement on ``conn`` that is still running after ``seconds``."""
    conn.timed_out = False
    conn.deadline = time.monotonic() + seconds
    try:
        yield
    except sqlite3.OperationalError as exc:
        if conn.timed_out:
            raise QueryTimeout(f"the query ran longer than {seconds:g} s and was stopped") from exc
        raise
    finally:
        conn.deadline = None


def has_table(conn: sqlite3.Connection, name: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
    ).fetchone()
    return row is not None
