"""Taking turns on the store's write lock, across every process that writes to it.

SQLite lets one connection write at a time. Its busy handler (``busy_timeout``) sleeps between
tries, backing off to 100 ms: with several processes always queued (an API and its workers
under load) the lock was left idle between turns while every span queue filled, and a writer
that polled less often than the others (the pruner, the metrics writer) could wait out its
whole timeout and fail. So every write transaction obs opens on the store goes through
``begin_immediate``: the lock is tried at once, then every few milliseconds (jittered, so the
waiting writers do not try together), each try answering immediately (``busy_timeout = 0``);
a try costs a couple of microseconds.

Checkpoints need the write lock too (a FULL, RESTART or TRUNCATE checkpoint takes it while
it copies the WAL): ``checkpoint`` runs one with a short wait, and says whether it completed.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

#: How long a write transaction waits for the lock before the busy error is raised.
LOCK_WAIT_S = 40.0
#: Between two tries for a busy lock, at most (jittered).
LOCK_POLL_MAX_S = 0.004
#: How long a checkpoint may wait for the write lock and for older readers: short, since it
#: holds the other writers off meanwhile; one that cannot finish is tried after the next batch.
CHECKPOINT_WAIT_MS = 20


def is_busy(exc: sqlite3.Error) -> bool:
    text = str(exc)
    return "locked" in text or "busy" in text


@contextmanager
def busy_timeout(conn: sqlite3.Connection, ms: int) -> Iterator[None]:
    """``PRAGMA busy_timeout = ms`` for the block, the connection's own restored after."""
    previous = int(conn.execute("PRAGMA busy_timeout").fetchone()[0])
    conn.execute(f"PRAGMA busy_timeout = {int(ms)}")
    try:
        yield
    finally:
        conn.execute(f"PRAGMA busy_timeout = {previous}")


def begin_immediate(conn: sqlite3.Connection, wait_s: float = LOCK_WAIT_S) -> float:
    """Open a write transaction, polling a busy lock for up to ``wait_s``; the seconds waited.

    Raises the busy error past ``wait_s``; no transaction is open then.
    """
    started = 0.0
    pause = 0.0005
    with busy_timeout(conn, 0):  # each try answers at once; the pauses are ours
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return time.monotonic() - started if started else 0.0
            except sqlite3.OperationalError as exc:
                if not is_busy(exc):
                    raise
                now = time.monotonic()
                started = started or now
                if now - started >= wait_s:
                    raise
            time.sleep(pause * (0.5 + random.random()))
            pause = min(pause * 2, LOCK_POLL_MAX_S)


@contextmanager
def write_transaction(conn: sqlite3.Connection, wait_s: float = LOCK_WAIT_S) -> Iterator[float]:
    """``with write_transaction(conn) as waited:`` the block runs in one write transaction.

    The lock is taken as ``begin_immediate`` takes it (polled); committed when the block ends,
    rolled back (if SQLite has not already, as after a full disk) when it raises.
    """
    waited = begin_immediate(conn, wait_s)
    try:
        yield waited
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def checkpoint(
    conn: sqlite3.Connection, mode: str = "RESTART", wait_ms: int = CHECKPOINT_WAIT_MS
) -> bool:
    """Copy the WAL into the file (``mode``: FULL, RESTART or TRUNCATE); True if it completed.

    Not completed when another writer or an older reader was in the way for longer than
    ``wait_ms``: what could be copied was, and the caller tries again later.
    """
    with busy_timeout(conn, wait_ms):
        row = conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
    return not row or not row[0]
