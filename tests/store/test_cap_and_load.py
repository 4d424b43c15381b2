"""The size cap holds on disk, and many writers with readers lose nothing (CI-sized runs of
``benchmarks/store_size.py``)."""

from __future__ import annotations

import io
import threading
import time

from opentelemetry.sdk.trace import TracerProvider

from benchmarks import store_size
from obs._console import ConsoleProcessor
from obs._store import StoreExporter, open_read_only, recent_traces, trace_spans

from .helpers import on_disk, spans


def test_file_and_wal_stay_within_the_cap_under_sustained_writes(tmp_path):
    cap_mb = 2.0
    path = tmp_path / "capped.db"
    exporter = StoreExporter(path, max_size_mb=cap_mb)
    peak = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], on_disk(path))
            time.sleep(0.001)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        for _ in range(60):  # ~4x the cap in total
            exporter.export(spans(128, attributes={"payload": "x" * 400}))
    finally:
        stop.set()
        sampler.join()
    assert exporter.failed == 0
    assert peak[0] <= cap_mb * 1024 * 1024 * 1.1, peak[0]
    assert exporter.pruner.pruned_rows > 0
    kept = open_read_only(path).execute("SELECT count(*) FROM spans").fetchone()[0]
    assert kept > 500  # the cap is spent on spans, not lost to waste


def test_a_short_lived_process_keeps_the_cap(tmp_path):
    path = tmp_path / "short.db"
    for _ in range(6):  # six short "processes", each one export then exit
        exporter = StoreExporter(path, max_size_mb=0.5)
        exporter.export(spans(200, attributes={"payload": "x" * 400}))
        exporter.shutdown()
        assert on_disk(path) <= 0.5 * 1024 * 1024 * 1.1


def test_many_writers_and_readers_lose_nothing(tmp_path):
    report = store_size.load(procs=4, rate=300, seconds=4, db=tmp_path / "load.db")
    assert report["writer_problems"] == []
    assert report["missing"] == {}
    assert report["stored"] == report["produced"] > 4000
    assert report["read_errors"] == []
    assert report["reads"] > 0


def test_the_reader_api_answers_the_ui_questions(tmp_path):
    path = tmp_path / "ui.db"
    exporter = StoreExporter(path)
    tracer = TracerProvider().get_tracer("ui")
    from opentelemetry.trace import Status, StatusCode

    batch = []
    for i in range(10):
        with tracer.start_as_current_span(f"GET /r{i % 2}") as root:
            child = tracer.start_span("db")
            if i == 3:
                child.set_status(Status(StatusCode.ERROR))
            child.end(end_time=(child.start_time or 0) + (50_000_000 if i == 5 else 1000))
        batch.extend([child, root])
    exporter.export(batch)  # type: ignore[arg-type]
    conn = open_read_only(path)
    everything = recent_traces(conn, limit=100)
    assert len(everything) == 10
    assert [t.start_ns for t in everything] == sorted(
        (t.start_ns for t in everything), reverse=True
    )
    assert {t.root_name for t in recent_traces(conn, name="GET /r1")} == {"GET /r1"}
    assert len(recent_traces(conn, status="error")) == 1
    assert len(recent_traces(conn, min_duration_ms=40)) == 1
    newest = everything[0]
    assert [t.trace_id for t in recent_traces(conn, since_ns=newest.start_ns)] == [newest.trace_id]
    assert newest.trace_id not in {
        t.trace_id for t in recent_traces(conn, until_ns=newest.start_ns - 1)
    }
    assert recent_traces(conn, service="nobody") == []
    assert len(trace_spans(conn, newest.trace_id[:10])) == 2


def test_the_console_neutralises_control_characters():
    stream = io.StringIO()
    provider = TracerProvider()
    provider.add_span_processor(ConsoleProcessor(stream, colours=False))
    tracer = provider.get_tracer("console")
    with tracer.start_as_current_span("evil\x1b]0;pwned\x07\r\u202e name"):
        pass
    out = stream.getvalue()
    for bad in ("\x1b", "\x07", "\r", "\u202e"):
        assert bad not in out
    assert "\\x1b]0;pwned" in out
