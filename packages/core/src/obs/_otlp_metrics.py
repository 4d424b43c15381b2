"""The OTLP metric exporter obs builds: one that gives up on a backend without metrics.

Some backends take traces but have no metrics endpoint (Phoenix answers ``405 Method Not
Allowed`` on ``/v1/metrics``; others ``404``). Exporting there again every minute only fills
the service's logs with the same error. The first such answer is reported once, with what to
do about it, and metrics are not sent to that endpoint again for the life of the exporter.

Imported only when metrics go over OTLP: the exporter pulls in protobuf and requests.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

import requests
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.sdk.metrics.export import MetricExportResult, MetricsData

from obs._diagnostics import logger

#: What a server says when it has no such endpoint (rather than a failing one).
NO_ENDPOINT_STATUSES = frozenset({404, 405})
_EXPORTER_LOGGER = "opentelemetry.exporter.otlp.proto.http.metric_exporter"


class _NoEndpointFilter(logging.Filter):
    """Drops the exporter's own error line for a missing endpoint: obs reports it instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        return not (
            isinstance(args, tuple)
            and len(args) >= 2
            and args[0] == "metrics"
            and args[1] in NO_ENDPOINT_STATUSES
        )


_filter_lock = threading.Lock()
_filter_installed = False


def _install_filter() -> None:
    global _filter_installed
    with _filter_lock:
        if not _filter_installed:
            logging.getLogger(_EXPORTER_LOGGER).addFilter(_NoEndpointFilter())
            _filter_installed = True


class GuardedMetricExporter(OTLPMetricExporter):
    """``OTLPMetricExporter`` that stops exporting where the server has no metrics endpoint."""

    def __init__(self, endpoint: str, headers: Mapping[str, str] | None = None) -> None:
        self.endpoint_missing: int | None = None  # the status that said so
        session = requests.Session()
        # A response hook is requests' public way to see the status the exporter got.
        session.hooks["response"].append(self._on_response)
        _install_filter()
        super().__init__(
            endpoint=endpoint, headers=dict(headers) if headers else None, session=session
        )
        self.url = endpoint

    def _on_response(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        if response.status_code in NO_ENDPOINT_STATUSES and self.endpoint_missing is None:
            self.endpoint_missing = response.status_code
            logger.warning(
                "obs: %s answered %d: this backend has no OTLP metrics endpoint, so obs stops "
                "sending metrics there (traces are unaffected). Set "
                "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT to a backend that takes metrics, or "
                "OTEL_METRICS_EXPORTER=none to say you want none. Reported once.",
                self.url,
                response.status_code,
            )

    def export(
        self,
        metrics_data: MetricsData,
        timeout_millis: float | None = 10_000,
        **kwargs: Any,
    ) -> MetricExportResult:
        if self.endpoint_missing is not None:
            return MetricExportResult.SUCCESS  # nothing to deliver to; dropped on purpose
        result = super().export(metrics_data, timeout_millis=timeout_millis, **kwargs)
        if self.endpoint_missing is not None:
            return MetricExportResult.SUCCESS
        return result
