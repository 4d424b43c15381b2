"""``http.server.request.duration``: the stable HTTP server metric, recorded by obs's middleware.

obs switches FastAPI's native telemetry off for an instrumented app (its server span costs more
than obs's whole request), which also switched off the only request metric: obs records the
stable one itself, in seconds, with the conventions' buckets and attributes. It is recorded
while the request's span is the current one, so an exemplar (when the SDK keeps them) links the
measurement to the trace. ``keep_native_metrics=True`` leaves FastAPI's own metric on instead
(then obs records none, so nothing is counted twice).
"""

from __future__ import annotations

from typing import Any

from opentelemetry.trace import Span
from opentelemetry.util.types import AttributeValue

from obs.instrumentation import get_meter
from obs_fastapi._version import VERSION

NAME = "http.server.request.duration"
#: The bucket boundaries the HTTP conventions advise for this metric.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
#: The span attributes the metric carries (the conventions' required and recommended ones;
#: ``server.address``/``server.port`` are opt-in for metrics: they multiply the series).
_KEYS = (
    "http.request.method",
    "url.scheme",
    "http.route",
    "http.response.status_code",
    "network.protocol.version",
    "error.type",
)


class ServerMetrics:
    """The duration histogram of one middleware."""

    def __init__(self, meter_provider: Any = None) -> None:
        meter = get_meter("obs.fastapi", VERSION, meter_provider)
        self._duration = meter.create_histogram(
            NAME,
            unit="s",
            description="Duration of HTTP server requests.",
            explicit_bucket_boundaries_advisory=list(BUCKETS),
        )

    def record(
        self,
        seconds: float,
        start: dict[str, AttributeValue],
        end: dict[str, AttributeValue],
        span: Span,
    ) -> None:
        attributes: dict[str, AttributeValue] = {}
        for key in _KEYS:
            value = end.get(key)
            if value is None:
                value = start.get(key)
            if value is not None:
                attributes[key] = value
        # The request's span is the current one here (the middleware records before it
        # detaches the request's context), so the SDK's exemplar filter links the point to the
        # trace without a context built per request.
        self._duration.record(seconds, attributes)
