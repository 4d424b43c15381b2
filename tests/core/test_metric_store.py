"""obs's metrics written to the store's ``metrics`` table, so they are seen without OTLP."""

from __future__ import annotations

import json
from pathlib import Path

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

import obs
from obs._metric_store import MetricStoreExporter
from obs._store import connect


def test_counters_histograms_and_gauges_land_in_the_metrics_table(tmp_path: Path) -> None:
    store = tmp_path / "spans.db"
    exporter = MetricStoreExporter(store)
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    provider = MeterProvider(metric_readers=[reader])
    meter = provider.get_meter("test")
    counter = meter.create_counter("jobs", unit="1")
    histogram = meter.create_histogram("latency", unit="ms")
    gauge = meter.create_gauge("model_accuracy")
    counter.add(2, {"queue": "a"})
    counter.add(3, {"queue": "a"})
    histogram.record(10.0)
    histogram.record(30.0)
    gauge.set(0.91)
    reader.collect()
    counter.add(4, {"queue": "a"})  # a delta: the second row holds only this interval's 4
    reader.collect()
    provider.shutdown()

    conn = connect(store)
    rows = conn.execute(
        "SELECT name, kind, value, count, min, max, attributes, unit FROM metrics ORDER BY rowid"
    ).fetchall()
    jobs = [r for r in rows if r[0] == "jobs"]
    assert [r[2] for r in jobs] == [5.0, 4.0]
    assert jobs[0][1] == "counter"
    assert json.loads(jobs[0][6]) == {"queue": "a"}
    (lat,) = [r for r in rows if r[0] == "latency"]
    assert lat[1:6] == ("histogram", 40.0, 2, 10.0, 30.0)
    assert next(r[1:3] for r in rows if r[0] == "model_accuracy") == ("gauge", 0.91)
    assert conn.execute("SELECT sum(value) FROM metrics WHERE name = 'jobs'").fetchone() == (9.0,)


def test_configure_with_the_store_writes_the_users_own_metrics(tmp_path: Path) -> None:
    store = tmp_path / "spans.db"
    obs.configure(service_name="metrics-test", store=store, console=False)
    try:
        obs.gauge("test_metric_store_accuracy").set(0.75, {"model": "m1"})
        obs.counter("test_metric_store_runs").add(1)
    finally:
        obs.shutdown()  # the last collection is written on the way out
    conn = connect(store)
    rows = dict(
        conn.execute(
            "SELECT name, value FROM metrics WHERE service_name = 'metrics-test'"
        ).fetchall()
    )
    assert rows["test_metric_store_accuracy"] == 0.75
    assert rows["test_metric_store_runs"] == 1.0


def test_a_write_failure_is_counted_not_raised(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where a folder should be")
    exporter = MetricStoreExporter(blocked / "spans.db")
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    provider = MeterProvider(metric_readers=[reader])
    provider.get_meter("t").create_counter("c").add(1)
    reader.collect()  # must not raise
    provider.shutdown()
    assert exporter.failed >= 1


def test_metric_attributes_are_scrubbed_before_the_store(tmp_path: Path) -> None:
    store = tmp_path / "spans.db"
    exporter = MetricStoreExporter(store)
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    provider = MeterProvider(metric_readers=[reader])
    provider.get_meter("t").create_counter("logins").add(
        1, {"password": "hunter2", "note": "Authorization: Bearer abcdef0123456789abcdef"}
    )
    reader.collect()
    provider.shutdown()
    (attributes,) = connect(store).execute("SELECT attributes FROM metrics").fetchone()
    assert "hunter2" not in attributes
    assert "abcdef0123456789abcdef" not in attributes
    assert "password" in json.loads(attributes)
