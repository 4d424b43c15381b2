"""Opening the store for the UI: read-only by construction, with a time limit per statement.

Three locks on the door, because the Explore page runs SQL a person typed (or a page that
tricked their browser typed): the file is opened ``mode=ro``, an authorizer allows reading
and functions only (no writes, ATTACH, PRAGMA, schema changes), and a progress handler
interrupts a statement that runs past its deadline so one query cannot hold a thread.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from obs._store import register_functions

#: What a statement may do: read tables and call functions. Everything else is denied.
_ALLOWED = {
    sqlite3.SQLITE_SELECT,
    sqlite3.SQLITE_READ,
    sqlite3.SQLITE_FUNCTION,
    getattr(sqlite3, "SQLITE_RECURSIVE", 33),
}

#: Per request: a typed query or a list; a dashboard gets six times as long.
DEFAULT_TIME_LIMIT_S = 5.0


class QueryTimeout(Exception):
    """A statement ran past its time limit and was interrupted."""


def _authorize(action: int, arg1: str | None, *_: object) -> int:
    if action in _ALLOWED:
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


def open_read_only(path: Path) -> sqlite3.Connection:
    """A connection that cannot change the store, whatever SQL it is given."""
    if not path.exists():
        raise FileNotFoundError(f"no span store at {path}")
    uri = f"file:{quote(str(path.absolute()))}?mode=ro"
    conn = sqlite3.connect(uri, uri=True, timeout=5.0, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 5000")
    register_functions(conn)
    conn.set_authorizer(_authorize)
    return conn


@contextmanager
def time_limit(conn: sqlite3.Connection, seconds: float) -> Iterator[None]:
    """Interrupt any statement on ``conn`` that is still running after ``seconds``."""
    deadline = time.monotonic() + seconds
    expired = False

    def check() -> int:
        nonlocal expired
        if time.monotonic() > deadline:
            expired = True
            return 1  # non-zero: SQLite stops the statement with "interrupted"
        return 0

    conn.set_progress_handler(check, 10_000)
    try:
        yield
    except sqlite3.OperationalError as exc:
        if expired:
            raise QueryTimeout(f"the query ran longer than {seconds:g} s and was stopped") from exc
        raise
    finally:
        conn.set_progress_handler(None, 0)


def has_table(conn: sqlite3.Connection, name: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
    ).fetchone()
    return row is not None
