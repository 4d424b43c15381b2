"""The outputs ``obs.configure()`` builds: OTLP and local-store span processors and metric
readers, and where the store is.

Pure builders: they read their arguments and ``OBS_*`` / ``OTEL_*`` settings and return the
processor or reader; ``_config.py`` decides which ones a configuration gets.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from opentelemetry.sdk.metrics.export import MetricReader
from opentelemetry.sdk.trace import SpanProcessor

from obs import _otlp_endpoints
from obs._export_health import (
    BoundedBatchSpanProcessor,
    ReportingSpanExporter,
    quiet_opentelemetry_repeats,
)
from obs._settings import env_flag
from obs._store import (
    DEFAULT_MAX_AGE_S,
    DEFAULT_MAX_SIZE_MB,
    STORE_BATCH_MIN_CAP_MB,
    STORE_BATCH_SIZE,
    STORE_QUEUE_SIZE,
    StoreExporter,
    resolve_path,
)


def without_userinfo(url: str) -> str:
    """``url`` without ``user:password@``: what obs prints or labels a metric with."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "OTLP endpoint"
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def _otlp_processors(
    endpoints: _otlp_endpoints.OTLPEndpoints, headers: Mapping[str, str] | None
) -> tuple[SpanProcessor | None, MetricReader | None]:
    """The OTLP span processor and metric reader, each only where its signal has an endpoint."""
    if endpoints.traces is None and endpoints.metrics is None:
        return None, None
    # Imported here: the exporter pulls in protobuf and requests, which a user without OTLP
    # should not pay for at import time.
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    header_map = dict(headers) if headers else None
    quiet_opentelemetry_repeats()
    processor: SpanProcessor | None = None
    reader: MetricReader | None = None
    if endpoints.traces is not None:
        span_exporter = _otlp_span_exporter_class()(endpoint=endpoints.traces, headers=header_map)
        label = without_userinfo(endpoints.base or endpoints.traces)
        processor = BoundedBatchSpanProcessor(
            ReportingSpanExporter(span_exporter, label), label=label
        )
    if endpoints.metrics is not None:
        from obs._otlp_metrics import GuardedMetricExporter

        reader = PeriodicExportingMetricReader(GuardedMetricExporter(endpoints.metrics, header_map))
    return processor, reader


def _otlp_span_exporter_class() -> type[Any]:
    """The SDK's OTLP span exporter with obs's encoder (same bytes), unless ``OBS_FAST_OTLP=0``."""
    if env_flag("OBS_FAST_OTLP") is False:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter
    from obs._otlp.exporter import FastOTLPSpanExporter

    return FastOTLPSpanExporter


def _store_path(option: bool | str | os.PathLike[str] | None, otlp_on: bool) -> Path | None:
    """Where the local store is, or None when it is off.

    Default: on (``.obs/spans.db``) when spans are not sent over OTLP. ``OBS_STORE`` may say
    ``off``/``on`` or give a path.
    """
    if option is None:
        env = (os.environ.get("OBS_STORE") or "").strip()
        if env.lower() in ("0", "false", "off", "no"):
            return None
        if env and env.lower() not in ("1", "true", "on", "yes"):
            return Path(env)
        if env:
            return resolve_path(None)
        return None if otlp_on else resolve_path(None)
    if option is False:
        return None
    if option is True:
        return resolve_path(None)
    return Path(option)


def _store_processor(
    path: Path, max_age_s: float | None, max_size_mb: float | None
) -> SpanProcessor:
    max_size_mb = max_size_mb or float(
        os.environ.get("OBS_STORE_MAX_SIZE_MB") or DEFAULT_MAX_SIZE_MB
    )
    exporter = StoreExporter(
        path,
        max_age_s=max_age_s or float(os.environ.get("OBS_STORE_MAX_AGE_S") or DEFAULT_MAX_AGE_S),
        max_size_mb=max_size_mb,
    )
    # Short delay: a person running `obs traces` right after a request expects to see it.
    # Reporting: store write failures are counted and said like OTLP's, by exporter.
    label = f"store {path}"
    # A bigger queue than the SDK's 2048 unless OTEL_BSP_MAX_QUEUE_SIZE says otherwise: writers
    # of one store take turns on its lock, and a turn can take seconds on a busy machine.
    queue = int(os.environ.get("OTEL_BSP_MAX_QUEUE_SIZE") or STORE_QUEUE_SIZE)
    # Up to STORE_BATCH_SIZE spans per transaction once spans queue up (a quiet app still writes
    # every 500 ms, whatever it has): each turn on the lock then writes more, and the queue
    # drains faster. Under a small cap the SDK's 512, so one transaction's WAL stays well
    # inside it.
    batch = int(
        os.environ.get("OTEL_BSP_MAX_EXPORT_BATCH_SIZE")
        or (STORE_BATCH_SIZE if max_size_mb >= STORE_BATCH_MIN_CAP_MB else 512)
    )
    return BoundedBatchSpanProcessor(
        ReportingSpanExporter(exporter, label),
        schedule_delay_millis=500,
        max_queue_size=queue,
        max_export_batch_size=min(batch, queue),
        label=label,
    )


def _store_metric_reader(path: Path, max_age_s: float | None) -> MetricReader:
    """Metrics go into the store too (a ``metrics`` table), so they are seen without OTLP."""
    from obs._metric_store import store_metric_reader

    return store_metric_reader(
        path,
        max_age_s=max_age_s or float(os.environ.get("OBS_STORE_MAX_AGE_S") or DEFAULT_MAX_AGE_S),
    )
