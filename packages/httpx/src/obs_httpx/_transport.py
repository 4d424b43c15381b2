"""The request path: a CLIENT span around each request a transport sends.

Both routes go through here: the patched ``HTTPTransport.handle_request`` /
``AsyncHTTPTransport.handle_async_request`` (``instrument_httpx()``), and the explicit
``ObsTransport`` / ``AsyncObsTransport`` wrappers. Each hop is its own span (a redirect or a
retry is another request), as the HTTP conventions ask. Nothing here may change what the
request sends (beyond the trace context headers) or what httpx returns or raises.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from opentelemetry import context as context_api
from opentelemetry import metrics as metrics_api
from opentelemetry import trace as trace_api

from obs.instrumentation import (
    get_meter,
    get_tracer,
    http_client_spans_suppressed,
    inject,
    internal_error,
)
from obs_httpx import _semconv as sc
from obs_httpx._call import Call, StreamTypes, stream_types
from obs_httpx._url import url_full
from obs_httpx._version import VERSION

_CLIENT = trace_api.SpanKind.CLIENT
SCOPE = "obs.httpx"


class Telemetry:
    """The tracer and instruments one instrumentation emits with, and its options."""

    __slots__ = ("histogram", "propagate", "tracer")

    def __init__(
        self,
        *,
        tracer_provider: trace_api.TracerProvider | None = None,
        meter_provider: metrics_api.MeterProvider | None = None,
        propagate: bool = True,
    ) -> None:
        self.tracer = get_tracer(SCOPE, VERSION, tracer_provider)
        self.histogram = get_meter(SCOPE, VERSION, meter_provider).create_histogram(
            sc.CLIENT_DURATION,
            unit="s",
            description="Duration of HTTP client requests.",
            explicit_bucket_boundaries_advisory=sc.DURATION_BUCKETS,
        )
        self.propagate = propagate


def start(telemetry: Telemetry, request: Any) -> Call | None:
    """The call's span, started and its context injected; None when not recorded."""
    if http_client_spans_suppressed():
        return None
    try:
        method = request.method
        url = request.url
        if method in sc.KNOWN_METHODS:
            name = method
            attributes: dict[str, Any] = {sc.METHOD: method}
        else:  # unbounded names and series otherwise
            name = "HTTP"
            attributes = {sc.METHOD: "_OTHER"}
        scheme = url.scheme
        attributes[sc.SERVER_ADDRESS] = url.host
        port = url.port or sc.DEFAULT_PORTS.get(scheme)
        if port:
            attributes[sc.SERVER_PORT] = port
        metric_attributes = dict(attributes)
        metric_attributes[sc.URL_SCHEME] = scheme
        if name == "HTTP":
            attributes[sc.METHOD_ORIGINAL] = method
        attributes[sc.URL_FULL] = url_full(url)
        span = telemetry.tracer.start_span(name, kind=_CLIENT, attributes=attributes)
        call = Call(span, telemetry.histogram, metric_attributes)
    except Exception as exc:
        internal_error("httpx span start", exc)
        return None
    if telemetry.propagate:
        inject(request.headers, context=call.context)  # never raises
    return call


def _traced_response(call: Call, response: Any, traced_stream: Callable[[Any, Call], Any]) -> Any:
    call.answered(response)
    try:
        response.stream = traced_stream(response.stream, call)
    except Exception as exc:  # cannot follow the body: end now rather than never
        internal_error("httpx response stream", exc)
        call.end()
    return response


def send(
    telemetry: Telemetry | None,
    request: Any,
    handle: Callable[[Any], Any],
    streams: StreamTypes,
) -> Any:
    """``handle(request)`` traced; ``request`` and the response are httpx's (or httpx2's)."""
    call = start(telemetry, request) if telemetry is not None else None
    if call is None:
        return handle(request)
    # Current while the request is sent: a nested HTTP instrumentation sees a CLIENT span and
    # records nothing twice; httpcore's own log records sit under it.
    token = context_api.attach(call.context)
    try:
        response = handle(request)
    except BaseException as exc:
        context_api.detach(token)
        call.fail(exc)
        raise
    context_api.detach(token)
    return _traced_response(call, response, streams[0])


async def send_async(
    telemetry: Telemetry | None,
    request: Any,
    handle: Callable[[Any], Awaitable[Any]],
    streams: StreamTypes,
) -> Any:
    call = start(telemetry, request) if telemetry is not None else None
    if call is None:
        return await handle(request)
    token = context_api.attach(call.context)
    try:
        response = await handle(request)
    except BaseException as exc:
        context_api.detach(token)
        call.fail(exc)
        raise
    context_api.detach(token)
    return _traced_response(call, response, streams[1])


class ObsTransport(httpx.BaseTransport):
    """``httpx.Client(transport=ObsTransport())``: the explicit route, any inner transport."""

    def __init__(
        self,
        transport: httpx.BaseTransport | None = None,
        *,
        tracer_provider: trace_api.TracerProvider | None = None,
        meter_provider: metrics_api.MeterProvider | None = None,
        propagate: bool = True,
    ) -> None:
        self.transport = transport if transport is not None else httpx.HTTPTransport()
        self._telemetry = Telemetry(
            tracer_provider=tracer_provider, meter_provider=meter_provider, propagate=propagate
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return send(  # type: ignore[no-any-return]
            self._telemetry, request, self.transport.handle_request, stream_types(httpx)
        )

    def close(self) -> None:
        self.transport.close()


class AsyncObsTransport(httpx.AsyncBaseTransport):
    """``httpx.AsyncClient(transport=AsyncObsTransport())``: the explicit async route."""

    def __init__(
        self,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        tracer_provider: trace_api.TracerProvider | None = None,
        meter_provider: metrics_api.MeterProvider | None = None,
        propagate: bool = True,
    ) -> None:
        self.transport = transport if transport is not None else httpx.AsyncHTTPTransport()
        self._telemetry = Telemetry(
            tracer_provider=tracer_provider, meter_provider=meter_provider, propagate=propagate
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await send_async(  # type: ignore[no-any-return]
            self._telemetry, request, self.transport.handle_async_request, stream_types(httpx)
        )

    async def aclose(self) -> None:
        await self.transport.aclose()
