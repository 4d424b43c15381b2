"""Keeping the store within its age and size bounds, on disk, under sustained load.

The cap is on what the filesystem holds: the store file plus its WAL. So:

- the check runs after every written batch and costs two ``stat`` calls until the files come
  near the cap (a short-lived process keeps the cap as well as a long one);
- pruning deletes the oldest whole traces in small transactions (about ``PRUNE_BATCH_ROWS``
  spans each), so the WAL never has to hold a big delete;
- the WAL is checkpointed by the writer itself once it holds ``wal_limit`` bytes, right after
  a commit, in RESTART mode (it takes the write lock, copies every frame and waits, briefly,
  for older readers, so the next commit starts the WAL over). SQLite's automatic PASSIVE
  checkpoints are off: with several processes always queued for the lock, the WAL was never
  found fully copied with no reader on it, so it never started over; it grew to hundreds of
  MB and the cap paid for it with stored spans. The WAL is truncated to ``wal_limit`` when it
  starts over (``journal_size_limit``), and with TRUNCATE after a prune;
- a store created by this obs uses ``auto_vacuum = INCREMENTAL``: freed pages beyond what the
  next inserts will reuse go back to the filesystem (``incremental_vacuum``), in chunks.

Rows older than ``max_age_s`` are pruned every ``AGE_CHECK_S``.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from obs._diagnostics import warn_once
from obs._store._files import file_size, on_disk_bytes
from obs._store._locking import checkpoint, write_transaction

AGE_CHECK_S = 30.0
PRUNE_BATCH_ROWS = 1000
#: At most this many batches per call: the export thread goes back to exporting.
MAX_BATCHES_PER_CALL = 200
#: Fractions of the cap. The data may use what the WAL does not need: the cap less the largest
#: recent WAL (one transaction's pages: on a small store with random trace-id keys that is a
#: good share of the file) and SLACK for pages freed but not yet reused; never less than FLOOR.
#: A prune takes the data down to PRUNE_TO of that budget.
SLACK, FLOOR, PRUNE_TO = 0.08, 0.2, 0.85
#: The most of the cap set aside for the WAL. A reader can pin the WAL for as long as it runs
#: (its snapshot needs it), so it can outgrow a batch by far with many writers; the spans
#: already stored are not deleted to pay for such a spike beyond this share.
WAL_SHARE_MAX = 0.25


class Pruner:
    def __init__(self, path: Path, *, max_age_s: float, max_size_mb: float) -> None:
        self.path = path
        self.max_age_s = max_age_s
        self.max_bytes = int(max_size_mb * 1024 * 1024)
        self.wal_limit = max(64 * 1024, min(4 * 1024 * 1024, self.max_bytes // 12))
        self._last_age_check = 0.0
        self._page_size = 4096
        self.pruned_rows = 0
        #: The largest WAL seen after a recent commit (decays, so one burst is forgotten).
        self.wal_peak = 0
        #: How much one batch adds to the data (largest recent), so room is made before it.
        self.growth = 0
        self._last_used = 0
        self.checkpoints = 0
        self.checkpoints_deferred = 0
        self._wal = path.with_name(path.name + "-wal")

    def attach(self, conn: sqlite3.Connection) -> None:
        """Tune a freshly opened write connection for the cap."""
        self._page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        conn.execute("PRAGMA wal_autocheckpoint = 0")  # after_write checkpoints
        conn.execute(f"PRAGMA journal_size_limit = {self.wal_limit}")

    def after_write(self, conn: sqlite3.Connection, rows: int) -> None:
        try:
            now = time.monotonic()
            if now - self._last_age_check > AGE_CHECK_S:
                self._last_age_check = now
                self._prune_age(conn)
            wal = file_size(self._wal)
            self.wal_peak = max(wal, int(self.wal_peak * 0.95))
            if wal > self.wal_limit:
                self.checkpoint(conn)
            if file_size(self.path) + self.wal_peak > (1 - SLACK) * self.max_bytes * 0.9:
                self._prune_size(conn)
        except sqlite3.Error as exc:
            # The spans were written; a prune that could not run now runs after the next batch.
            warn_once(
                f"store-prune:{self.path}", "obs: pruning the store %s failed: %s", self.path, exc
            )

    def checkpoint(self, conn: sqlite3.Connection) -> bool:
        """Copy the whole WAL into the file so the next commit starts it over; True if done.

        A reader that started before the last commits is in the way until it ends (its
        snapshot still needs the WAL); the writers are not held off waiting for it (it may
        run for seconds): the next batch, this process's or another's, tries again.
        """
        if checkpoint(conn, "RESTART"):
            self.checkpoints += 1
            return True
        self.checkpoints_deferred += 1
        return False

    def _bound_wal(self, conn: sqlite3.Connection) -> None:
        # A prune is many small transactions: their pages are copied out as they go.
        if file_size(self._wal) > self.wal_limit:
            self.checkpoint(conn)

    def prune(self, conn: sqlite3.Connection) -> None:
        self._last_age_check = time.monotonic()
        self._prune_age(conn)
        self._prune_size(conn)

    # -- age -------------------------------------------------------------------------

    def _prune_age(self, conn: sqlite3.Connection) -> None:
        cutoff = time.time_ns() - int(self.max_age_s * 1e9)
        deleted = False
        for _ in range(MAX_BATCHES_PER_CALL):
            if not self._delete_traces(conn, "WHERE start_ns < ?", (cutoff,)):
                break
            deleted = True
        for _ in range(MAX_BATCHES_PER_CALL):
            # Spans with no summary row (written by an older obs) go by their own time.
            if not self._delete_spans(conn, "WHERE start_ns < ?", (cutoff,)):
                break
            deleted = True
        if deleted:
            self._give_back(conn)

    # -- size ------------------------------------------------------------------------

    def _used_bytes(self, conn: sqlite3.Connection) -> int:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
        return int((pages - free) * self._page_size)

    def data_budget(self) -> int:
        """How many bytes of pages the rows may use, the WAL's share set aside."""
        budget = (1 - SLACK) * self.max_bytes - min(self.wal_peak, WAL_SHARE_MAX * self.max_bytes)
        return int(max(FLOOR * self.max_bytes, budget))

    def _prune_size(self, conn: sqlite3.Connection) -> None:
        deleted = False
        used = self._used_bytes(conn)
        if self._last_used:
            self.growth = max(used - self._last_used, int(self.growth * 0.95), 0)
        budget = self.data_budget()
        if used + self.growth > budget:
            # Deleting the oldest traces frees whole pages of the spans table but only thins
            # the pages of the indexes keyed by (random) trace ids, which later inserts refill;
            # so the rows to delete are estimated once, in proportion, not measured page by page.
            # Row ids grow with inserts: their span approximates the row count in O(1).
            first, last = conn.execute("SELECT min(rowid), max(rowid) FROM spans").fetchone()
            rows = 0 if first is None else last - first + 1
            # Room for the next batch, but never all of it: the newest rows always stay.
            room = max(0.5 * budget, PRUNE_TO * budget - self.growth)
            excess = rows - int(rows * room / used)
            # Start from an empty WAL: the deletes' pages then reuse it instead of adding on.
            checkpoint(conn, "TRUNCATE")
            # Small transactions relative to the store: each one's pages pass through the WAL.
            step = max(16, min(PRUNE_BATCH_ROWS, rows // 16))
            for _ in range(MAX_BATCHES_PER_CALL):
                if excess <= 0:
                    break
                count = self._delete_traces(conn, "", (), min(excess, step)) or self._delete_spans(
                    conn, "", (), min(excess, step)
                )
                if not count:
                    break
                excess -= count
                deleted = True
        if deleted:
            # A delete touches pages all over the trace-id indexes: its WAL counts too.
            wal = file_size(self._wal)
            self.wal_peak = max(self.wal_peak, wal)
        if deleted or on_disk_bytes(self.path) > self.max_bytes * (1 - SLACK):
            self._give_back(conn)
        self._last_used = self._used_bytes(conn)

    # -- deleting --------------------------------------------------------------------

    def _delete_traces(
        self,
        conn: sqlite3.Connection,
        where: str,
        params: tuple[int, ...],
        budget: int = PRUNE_BATCH_ROWS,
    ) -> int:
        """Delete the oldest whole traces, about ``budget`` spans; the number of spans."""
        budget = max(1, min(budget, PRUNE_BATCH_ROWS))
        with write_transaction(conn):
            chosen: list[tuple[str]] = []
            rows = 0
            for trace_id, count in conn.execute(
                f"SELECT trace_id, span_count FROM traces {where} ORDER BY start_ns LIMIT ?",
                (*params, budget),
            ):
                chosen.append((trace_id,))
                rows += count
                if rows >= budget:
                    break
            if chosen:
                conn.executemany("DELETE FROM spans WHERE trace_id = ?", chosen)
                conn.executemany("DELETE FROM trace_services WHERE trace_id = ?", chosen)
                conn.executemany("DELETE FROM traces WHERE trace_id = ?", chosen)
        self._bound_wal(conn)
        self.pruned_rows += rows
        return rows if chosen else 0

    def _delete_spans(
        self,
        conn: sqlite3.Connection,
        where: str,
        params: tuple[int, ...],
        budget: int = PRUNE_BATCH_ROWS,
    ) -> int:
        budget = max(1, min(budget, PRUNE_BATCH_ROWS))
        with write_transaction(conn):
            cursor = conn.execute(
                f"DELETE FROM spans WHERE rowid IN (SELECT rowid FROM spans {where} "
                "ORDER BY start_ns LIMIT ?)",
                (*params, budget),
            )
        self._bound_wal(conn)
        self.pruned_rows += cursor.rowcount
        return max(cursor.rowcount, 0)

    def _give_back(self, conn: sqlite3.Connection) -> None:
        """Truncate the WAL; give pages back to the filesystem only when the file is too big.

        In steady state pages freed by a prune are reused by the next inserts, so returning
        them would only make the file shrink and grow again. They go back when the file holds
        more than the data budget and its slack (the cap was lowered, or a big age prune ran).
        """
        checkpoint(conn, "TRUNCATE")
        if conn.execute("PRAGMA auto_vacuum").fetchone()[0] != 2:  # not incremental
            return
        target_pages = (self.data_budget() + int(SLACK * self.max_bytes)) // self._page_size
        chunk = max(16, self.wal_limit // self._page_size)
        for _ in range(MAX_BATCHES_PER_CALL):
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            free = conn.execute("PRAGMA freelist_count").fetchone()[0]
            count = min(free, pages - target_pages, chunk)
            if count <= 0:
                break
            with write_transaction(conn):
                conn.execute(f"PRAGMA incremental_vacuum({count})").fetchall()
            checkpoint(conn, "TRUNCATE")
