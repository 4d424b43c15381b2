"""A local OTLP/HTTP receiver for tests: decodes the official protobuf payloads.

    with OTLPReceiver() as receiver:
        obs.configure(otlp_endpoint=receiver.endpoint)
        ...
        obs.force_flush()
        spans = receiver.spans()  # decoded opentelemetry.proto Span messages

It can also answer with a chosen status (500, 429; per path too) or be made slow, to test
exporters that misbehave, and it keeps the raw request bodies so a test can search every
exported byte.
"""

from __future__ import annotations

import gzip
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from obs.testing.loopback import LoopbackServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class OTLPReceiver(LoopbackServer):
    """Records every OTLP/HTTP request; answers ``status`` after ``delay`` seconds.

    Both can be changed while it runs (``receiver.status = 200`` ends a simulated outage).
    """

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, status: int = 200, delay: float = 0.0
    ) -> None:
        self.status = status
        self.delay = delay
        #: Per-path answers that override ``status`` (``{"/v1/metrics": 405}``: a backend
        #: without a metrics endpoint, as Phoenix is).
        self.path_status: dict[str, int] = {}
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                if receiver.delay:
                    time.sleep(receiver.delay)
                with receiver._lock:
                    receiver.requests.append(Received(self.path, dict(self.headers), body))
                self.send_response(receiver.path_status.get(self.path, receiver.status))
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        super().__init__(Handler, host, port, name="otlp-receiver")

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        self.close()

    def raw(self, path: str = "/v1/traces") -> list[bytes]:
        with self._lock:
            return [r.body for r in self.requests if r.path == path]

    def trace_requests(self) -> list[ExportTraceServiceRequest]:
        out = []
        for body in self.raw("/v1/traces"):
            message = ExportTraceServiceRequest()
            message.ParseFromString(body)
            out.append(message)
        return out

    def metric_requests(self) -> list[ExportMetricsServiceRequest]:
        out = []
        for body in self.raw("/v1/metrics"):
            message = ExportMetricsServiceRequest()
            message.ParseFromString(body)
            out.append(message)
        return out

    def spans(self) -> list[Any]:
        """Every received span (protobuf ``Span``), with its resource attached as ``.resource``."""
        out = []
        for request in self.trace_requests():
            for resource_spans in request.resource_spans:
                for scope_spans in resource_spans.scope_spans:
                    out.extend(scope_spans.spans)
        return out

    def resources(self) -> list[dict[str, Any]]:
        out = []
        for request in self.trace_requests():
            for resource_spans in request.resource_spans:
                out.append({a.key: _value(a.value) for a in resource_spans.resource.attributes})
        return out


def _value(any_value: Any) -> Any:
    kind = any_value.WhichOneof("value")
    return getattr(any_value, kind) if kind else None


def attributes(span: Any) -> dict[str, Any]:
    """A protobuf span's attributes as a dict."""
    return {a.key: _value(a.value) for a in span.attributes}
