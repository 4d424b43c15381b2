"""Metrics into the local store: a ``metrics`` table beside ``spans`` in the same SQLite file.

Without an OTLP endpoint obs's metrics (the integrations' and the user's own
``obs.gauge("model_accuracy")``) would be visible nowhere. A periodic reader hands them to
:class:`MetricStoreExporter` every ``OBS_STORE_METRICS_INTERVAL_S`` seconds (10 by default),
which writes one row per data point. Counters and histograms are stored as deltas (what
happened in that interval, so ``sum(value)`` over any window is right); up-down counters and
gauges as their current value. As with spans, a failure to write is logged once and never
reaches the application.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from opentelemetry.sdk.metrics import (
    Counter,
    Histogram,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
    UpDownCounter,
)
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Gauge,
    MetricExporter,
    MetricExportResult,
    MetricsData,
    PeriodicExportingMetricReader,
    Sum,
)
from opentelemetry.sdk.metrics.export import Histogram as HistogramData

from obs import _settings
from obs._diagnostics import internal_error
from obs._store import DEFAULT_MAX_AGE_S, connect
from obs._store._locking import write_transaction

#: The table's DDL, in one place (it joins the store's schema migrations at merge).
METRICS_SCHEMA = """
CREATE TABLE IF NOT EXISTS metrics (
    time_ns         INTEGER NOT NULL,  -- end of the interval (or the observation)
    time            TEXT NOT NULL,     -- UTC 'YYYY-MM-DD HH:MM:SS.ffffff'
    start_ns        INTEGER,           -- start of the interval, for deltas
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL,     -- 'counter', 'up_down_counter', 'gauge', 'histogram'
    unit            TEXT,
    service_name    TEXT,
    scope           TEXT,
    attributes      TEXT NOT NULL DEFAULT '{}',
    value           REAL,              -- the delta, current value, or a histogram's sum
    count           INTEGER,           -- histograms: measurements in the interval
    min             REAL,
    max             REAL,
    bounds          TEXT,              -- histograms: JSON bucket boundaries
    bucket_counts   TEXT               -- histograms: JSON counts, one more than bounds
);
CREATE INDEX IF NOT EXISTS metrics_name_time ON metrics (name, time_ns);
CREATE INDEX IF NOT EXISTS metrics_time ON metrics (time_ns);
"""

INTERVAL_ENV = "OBS_STORE_METRICS_INTERVAL_S"
DEFAULT_INTERVAL_S = 10.0
PRUNE_EVERY_S = 60.0

_INSERT = (
    "INSERT INTO metrics (time_ns, time, start_ns, name, kind, unit, service_name, scope, "
    "attributes, value, count, min, max, bounds, bucket_counts) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

_TEMPORALITY = {
    Counter: AggregationTemporality.DELTA,
    Histogram: AggregationTemporality.DELTA,
    ObservableCounter: AggregationTemporality.DELTA,
    UpDownCounter: AggregationTemporality.CUMULATIVE,
    ObservableUpDownCounter: AggregationTemporality.CUMULATIVE,
    ObservableGauge: AggregationTemporality.CUMULATIVE,
}


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))


def _scrubbed(attributes: Any) -> dict[str, Any]:
    """Metric attributes leave the process too: scrubbed like a span's (secrets, tokens)."""
    values = dict(attributes or {})
    scrubber = _settings.current().scrubber
    if scrubber is None or not values:
        return values
    found: list[str] = []
    return dict(scrubber.scrub_attributes("", values, found) or values)


def rows(data: MetricsData) -> list[tuple[Any, ...]]:
    """One row per data point, in the table's column order."""
    out: list[tuple[Any, ...]] = []
    for resource_metrics in data.resource_metrics:
        service = resource_metrics.resource.attributes.get("service.name")
        for scope_metrics in resource_metrics.scope_metrics:
            scope = scope_metrics.scope.name
            for metric in scope_metrics.metrics:
                points = metric.data
                for point in points.data_points:
                    attributes = _json(_scrubbed(point.attributes))
                    start = getattr(point, "start_time_unix_nano", None)
                    end = point.time_unix_nano
                    common = (end, _iso(end), start, metric.name)
                    tail = (metric.unit or None, service, scope, attributes)
                    if isinstance(points, HistogramData):
                        out.append(
                            (
                                *common,
                                "histogram",
                                *tail,
                                float(point.sum),  # type: ignore[union-attr]
                                int(point.count),  # type: ignore[union-attr]
                                point.min,  # type: ignore[union-attr]
                                point.max,  # type: ignore[union-attr]
                                _json(list(point.explicit_bounds)),  # type: ignore[union-attr]
                                _json(list(point.bucket_counts)),  # type: ignore[union-attr]
                            )
                        )
                    elif isinstance(points, Sum):
                        kind = "counter" if points.is_monotonic else "up_down_counter"
                        value = float(point.value)  # type: ignore[union-attr]
                        out.append((*common, kind, *tail, value, None, None, None, None, None))
                    elif isinstance(points, Gauge):
                        value = float(point.value)  # type: ignore[union-attr]
                        out.append((*common, "gauge", *tail, value, None, None, None, None, None))
                    # Exponential histograms are not written: obs creates none.
    return out


class MetricStoreExporter(MetricExporter):
    """Writes each collection to the ``metrics`` table of the store at ``path``."""

    def __init__(self, path: str | os.PathLike[str], *, max_age_s: float = DEFAULT_MAX_AGE_S):
        super().__init__(preferred_temporality=_TEMPORALITY)  # type: ignore[arg-type]
        self.path = Path(path)
        self.max_age_s = max_age_s
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._last_prune = 0.0
        self.written = 0
        self.failed = 0

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = connect(self.path)
            # Even IF NOT EXISTS takes the write lock: taken the polled way, and only when
            # something is missing.
            present = conn.execute(
                "SELECT count(*) FROM sqlite_master WHERE name IN "
                "('metrics', 'metrics_name_time', 'metrics_time')"
            ).fetchone()[0]
            if present < 3:
                with write_transaction(conn):
                    for statement in METRICS_SCHEMA.split(";"):
                        if statement.strip():
                            conn.execute(statement)
            self._conn = conn
        return self._conn

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        try:
            batch = rows(metrics_data)
            with self._lock:
                conn = self._connection()
                with write_transaction(conn):
                    conn.executemany(_INSERT, batch)
                self.written += len(batch)
                if time.monotonic() - self._last_prune > PRUNE_EVERY_S:
                    self._last_prune = time.monotonic()
                    cutoff = time.time_ns() - int(self.max_age_s * 1e9)
                    with write_transaction(conn):
                        conn.execute("DELETE FROM metrics WHERE time_ns < ?", (cutoff,))
            return MetricExportResult.SUCCESS
        except Exception as exc:
            self.failed += 1
            internal_error(f"writing metrics to the local store {self.path}", exc)
            return MetricExportResult.FAILURE

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        with self._lock:
            if self._conn is not None:
                try:
                    self._conn.close()
                finally:
                    self._conn = None


def store_metric_reader(
    path: str | os.PathLike[str], *, max_age_s: float | None = None
) -> PeriodicExportingMetricReader:
    """The reader ``obs.configure()`` adds when the local store is on."""
    interval_s = float(os.environ.get(INTERVAL_ENV) or DEFAULT_INTERVAL_S)
    exporter = MetricStoreExporter(path, max_age_s=max_age_s or DEFAULT_MAX_AGE_S)
    return PeriodicExportingMetricReader(exporter, export_interval_millis=interval_s * 1000)
