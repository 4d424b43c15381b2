"""Many processes writing one store: the write lock polled (not SQLite's backing-off busy
handler), the WAL checkpointed by the writers so it starts over, a WAL spike not paid for with
stored spans, and the store's span processor sized for turns on the lock."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from obs._exporters import _store_processor
from obs._metric_store import MetricStoreExporter
from obs._store import STORE_BATCH_SIZE, STORE_QUEUE_SIZE, StoreExporter, open_for_writing
from obs._store._locking import begin_immediate, checkpoint
from obs._store._pruning import SLACK, WAL_SHARE_MAX

from .helpers import spans


def _holder(path):
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    conn.execute("BEGIN IMMEDIATE")
    return conn


def test_the_write_lock_is_taken_once_another_writer_lets_go(tmp_path):
    path = tmp_path / "s.db"
    open_for_writing(path).close()
    holder = _holder(path)
    conn = open_for_writing(path)
    threading.Timer(0.05, lambda: holder.execute("COMMIT")).start()
    waited = begin_immediate(conn, wait_s=30)
    assert conn.in_transaction
    assert waited > 0
    conn.execute("COMMIT")
    # The connection's own busy timeout is back for everything else.
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 10_000


def test_a_lock_held_past_the_wait_raises_busy_with_no_transaction_open(tmp_path):
    path = tmp_path / "s.db"
    open_for_writing(path).close()
    holder = _holder(path)
    conn = open_for_writing(path)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        begin_immediate(conn, wait_s=0.05)
    assert not conn.in_transaction
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 10_000
    holder.execute("COMMIT")


def test_the_writer_checkpoints_the_wal_itself_and_it_starts_over(tmp_path):
    path = tmp_path / "s.db"
    exporter = StoreExporter(path, max_size_mb=1000)
    exporter.export(spans(10))
    conn = exporter._connection()
    assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    wal = path.with_name(path.name + "-wal")
    exporter.pruner.wal_limit = 64 * 1024
    conn.execute(f"PRAGMA journal_size_limit = {exporter.pruner.wal_limit}")

    # A reader on an older snapshot pins the WAL: the checkpoint is left for later.
    reader = sqlite3.connect(str(path), isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM spans").fetchone()
    exporter.export(spans(300, attributes={"payload": "x" * 400}))
    assert exporter.pruner.checkpoints_deferred >= 1
    big = wal.stat().st_size
    assert big > exporter.pruner.wal_limit
    reader.execute("COMMIT")

    done = exporter.pruner.checkpoints
    exporter.export(spans(300, attributes={"payload": "x" * 400}))
    assert exporter.pruner.checkpoints == done + 1
    exporter.export(spans(2))  # this commit starts the WAL over and trims it
    assert wal.stat().st_size < big / 2
    assert exporter.failed == 0


def test_checkpoint_says_whether_it_completed(tmp_path):
    path = tmp_path / "s.db"
    exporter = StoreExporter(path)
    exporter.export(spans(20))
    conn = exporter._connection()
    assert checkpoint(conn, "RESTART")
    holder = _holder(path)
    holder.execute("INSERT INTO spans (trace_id, span_id) VALUES ('t', 's')")
    assert not checkpoint(conn, "RESTART", wait_ms=1)  # a writer holds the lock
    holder.execute("ROLLBACK")


def test_a_wal_spike_is_not_paid_for_with_most_of_the_stored_spans(tmp_path):
    exporter = StoreExporter(tmp_path / "s.db", max_size_mb=100)
    pruner = exporter.pruner
    pruner.wal_peak = 10 * pruner.max_bytes  # a reader pinned the WAL while writers went on
    assert pruner.data_budget() >= (1 - SLACK - WAL_SHARE_MAX) * pruner.max_bytes - 1


def test_metrics_writer_needs_no_write_lock_once_its_table_exists(tmp_path):
    path = tmp_path / "s.db"
    MetricStoreExporter(path)._connection().close()
    holder = _holder(path)
    try:
        exporter = MetricStoreExporter(path)
        exporter._connection()  # SQLite's "IF NOT EXISTS" would wait for the lock, then fail
        exporter.shutdown()
    finally:
        holder.execute("ROLLBACK")


def _batch_size(processor):
    return processor._batch_processor._max_export_batch_size


def test_the_store_processor_writes_big_batches_unless_the_cap_is_small(tmp_path, monkeypatch):
    monkeypatch.delenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", raising=False)
    monkeypatch.delenv("OTEL_BSP_MAX_QUEUE_SIZE", raising=False)
    processors = [
        _store_processor(tmp_path / "a.db", None, None),
        _store_processor(tmp_path / "b.db", None, 5),
    ]
    monkeypatch.setenv("OTEL_BSP_MAX_QUEUE_SIZE", "1000")
    processors.append(_store_processor(tmp_path / "c.db", None, None))
    monkeypatch.setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "100")
    processors.append(_store_processor(tmp_path / "d.db", None, None))
    try:
        sizes = [_batch_size(p) for p in processors]
        assert sizes == [STORE_BATCH_SIZE, 512, 1000, 100]
        assert processors[0]._batch_processor._max_queue_size == STORE_QUEUE_SIZE
    finally:
        for p in processors:
            p.shutdown()
