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

from opentelemetry.util.types import AttributeValue

from obs.instrumentation import BoundHistograms, get_meter
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
    """The duration histogram of one middleware.

    A request's attribute set (method, scheme, route, status, protocol version, error type)
    comes from a small set, so each set gets a bound handle, made once
    (``obs.instrumentation.BoundHistograms``). A request then costs one tuple and one dict
    look-up before the SDK's aggregation, not the SDK's whole ``record``.
    """

    def __init__(self, meter_provider: Any = None) -> None:
        meter = get_meter("obs.fastapi", VERSION, meter_provider)
        self._duration = BoundHistograms(
            meter.create_histogram(
                NAME,
                unit="s",
                description="Duration of HTTP server requests.",
                explicit_bucket_boundaries_advisory=list(BUCKETS),
            )
        )

    def record(
        self,
        seconds: float,
        start: dict[str, AttributeValue],
        end: dict[str, AttributeValue],
        error: str | None,
    ) -> None:
        """Record ``seconds`` for a request; ``error`` overrides ``end``'s ``error.type``.

        Method, scheme and protocol version are set when the span starts, route, status and
        error type when it ends (the middleware never puts them anywhere else).
        """
        # The values' types are fixed per key (str, or int for the status), so the tuple
        # tells apart every set the SDK tells apart.
        key = (
            start.get("http.request.method"),
            start.get("url.scheme"),
            end.get("http.route"),
            end.get("http.response.status_code"),
            start.get("network.protocol.version"),
            error if error is not None else end.get("error.type"),
        )
        handle = self._duration.get(key)
        if handle is None:
            attributes = {k: v for k, v in zip(_KEYS, key, strict=True) if v is not None}
            handle = self._duration.bind(key, attributes)
        # The request's span is the current one here (the middleware records before it
        # detaches the request's context), so the SDK's exemplar filter links the point to the
        # trace without a context built per request.
        handle.record(seconds)
