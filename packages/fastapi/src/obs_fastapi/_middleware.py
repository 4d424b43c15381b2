"""The pure ASGI middleware: one SERVER span per HTTP request or WebSocket connection.

It never buffers a body and never changes a message: it only watches ``http.response.start``
(status, optional headers) and the last body message, and ``http.disconnect`` on receive.

The span ends exactly once: when the last body message has been sent (so background tasks
that run after the response do not stretch it), or when the app returns or raises, whichever
comes first (the per-request :class:`_Exchange` in ``_exchange.py`` watches the messages).
A 5xx response waits for the app to return, because a 500 sent by Starlette's error
middleware is followed by the exception that caused it, and that exception belongs on the
span.

The per-request work is kept to what the span needs: the headers are read in one pass, the
incoming context is extracted only when a propagation header is present, and everything that
repeats (route templates and names, ``Host`` parsing, propagation header names) is cached.

This module holds the ASGI entry and dispatch (:class:`ObsMiddleware`: which requests get a
span, starting and ending it); ``_exchange.py`` the per-request state and message watching,
``_lifespan.py`` the flush at server shutdown. The moved names (``DETAIL`` among them)
are re-exported from here, where they were importable from.
"""

from __future__ import annotations

import time
from typing import Any

from opentelemetry import context as context_api
from opentelemetry import propagate
from opentelemetry import trace as trace_api
from opentelemetry.propagators.textmap import TextMapPropagator
from opentelemetry.trace import SpanKind, StatusCode
from opentelemetry.util.types import AttributeValue

from obs.instrumentation import (
    attach_span,
    current_span,
    detach,
    error_type,
    extract,
    get_tracer,
    internal_error,
    record_exception,
    settings,
    warn_once,
)
from obs_fastapi._exchange import _DETAIL_MAX_BODY as _DETAIL_MAX_BODY
from obs_fastapi._exchange import DETAIL, _Exchange
from obs_fastapi._exchange import _is_json as _is_json
from obs_fastapi._lifespan import _flush_before_shutdown_completes
from obs_fastapi._metrics import ServerMetrics
from obs_fastapi._native import NativeBridge, arguments_value, bridge, errors_value
from obs_fastapi._options import Options, options_from
from obs_fastapi._request import KNOWN_METHODS, header_attributes, server_attributes
from obs_fastapi._routes import RouteAttributes, RouteTable
from obs_fastapi._version import VERSION

Scope = Any  # ASGI types, kept loose so the module imports without Starlette
Message = Any
Receive = Any
Send = Any
ASGIApp = Any

SCOPE_NAME = "obs.fastapi"
#: Set on the scope of a request obs handles (True) or excluded (False): an instrumented app
#: mounted inside another then passes the request through instead of starting a second span.
MARK = "obs.fastapi"
#: FastAPI's own marker: present means "telemetry is handled", so FastAPI apps (mounted ones
#: included) do not start native server spans.
NATIVE = "fastapi.telemetry"
STARLETTE = "starlette.opentelemetry"

_SERVER = SpanKind.SERVER
_ERROR = StatusCode.ERROR
_set_span_in_context = trace_api.set_span_in_context
_attach = context_api.attach
_set_value = context_api.set_value
_get_textmap = propagate.get_global_textmap
_REDACTED = r"\1\2=REDACTED"
_perf = time.perf_counter


def _keep(template: str, text: str) -> str:
    return text


def _is_fastapi(source: Any) -> bool:
    """Does ``source`` (an app, or the stack below a middleware) route with FastAPI?"""
    try:
        from fastapi import FastAPI
        from fastapi.routing import APIRouter
    except ImportError:
        return False
    seen = 0
    while source is not None and seen < 32:
        if isinstance(source, (FastAPI, APIRouter)):
            return True
        source = getattr(source, "app", None)
        seen += 1
    return False


def _normal_close(exc: BaseException) -> bool:
    # WebSocketDisconnect with 1000 (normal) or 1001 (going away) is how a conversation ends.
    return type(exc).__name__ == "WebSocketDisconnect" and getattr(exc, "code", None) in (
        1000,
        1001,
    )


class ObsMiddleware:
    """Pure ASGI middleware: ``app = ObsMiddleware(app, **options)`` or ``add_middleware``.

    Options are those of ``obs_fastapi.instrument_app``. For FastAPI apps prefer
    ``instrument_app``: it puts this middleware outside Starlette's error middleware (so the
    500 it sends is on the span) and switches FastAPI's native tracing off for the app.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        options: Options | None = None,
        route_source: Any = None,
        **kwargs: Any,
    ) -> None:
        self.app = app
        opts = options_from(options, kwargs)
        self.options = opts
        self._tracer = get_tracer(SCOPE_NAME, VERSION, opts.tracer_provider)
        source = app if route_source is None else route_source
        self._native: NativeBridge | None = bridge() if _is_fastapi(source) else None
        self._table = RouteTable(source)
        self._route_attributes = RouteAttributes()
        # Options read per request, as plain attributes.
        #: read by each request's ``_Exchange`` when the response starts
        self.response_headers = opts.response_headers
        self._request_headers = opts.request_headers
        self._operation_spans = opts.operation_spans
        self._excluded = opts.excluded.search if opts.excluded is not None else None
        redact = opts.redact_query
        self._sensitive = redact.search if redact is not None else None
        self._redact = redact.sub if redact is not None else _keep
        self._textmap: TextMapPropagator | None = None
        self._fields: frozenset[bytes] = frozenset()
        self._settings: object = None
        self._capture_arguments = False
        self._capture_errors = False
        # FastAPI's native metrics, when kept, already record the request duration.
        self._metrics = None if opts.keep_native_metrics else ServerMetrics(opts.meter_provider)

    # -- cached per-process state, refreshed when obs is reconfigured ----------------------
    def _propagation_fields(self, textmap: TextMapPropagator) -> frozenset[bytes]:
        """The propagator's header names (called when the global propagator changed)."""
        self._fields = frozenset(
            f.lower().encode("latin-1") for f in textmap.fields if f.lower() != "host"
        )
        self._textmap = textmap
        return self._fields

    def _capture(self) -> tuple[bool, bool]:
        current = settings()
        if current is not self._settings:
            opts = self.options
            content = current.capture_content
            self._capture_arguments = (
                content if opts.capture_arguments is None else opts.capture_arguments
            )
            self._capture_errors = (
                content
                if opts.capture_validation_errors is None
                else opts.capture_validation_errors
            )
            self._settings = current
        return self._capture_arguments, self._capture_errors

    # -- ASGI -----------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http" and kind != "websocket":
            if kind == "lifespan":
                await self.app(scope, receive, _flush_before_shutdown_completes(send))
            else:
                await self.app(scope, receive, send)
            return
        if MARK in scope or (NATIVE in scope and self._native_outside(scope)):
            await self.app(scope, receive, send)
            return
        current = current_span()
        if getattr(current, "kind", None) is _SERVER and self._server_span_outside(current):
            await self.app(scope, receive, send)
            return
        excluded = self._excluded
        if excluded is not None and excluded(scope["path"]) is not None:
            scope[MARK] = False
            if NATIVE not in scope:
                scope[NATIVE] = None
            await self.app(scope, receive, send)
            return
        if kind == "http":
            await self._http(scope, receive, send)
        else:
            await self._websocket(scope, receive, send)

    # Another server span already covers this request: never start a second one.
    def _native_outside(self, scope: Scope) -> bool:
        native = scope[NATIVE]
        if native is None or getattr(native, "span", None) is not None:
            # None: excluded by FastAPI's own telemetry. A span: FastAPI's native tracing is
            # on outside this middleware (added by hand instead of through instrument_app).
            if native is not None:
                warn_once(
                    "obs_fastapi:native-outside",
                    "obs: FastAPI's native tracing already traces this app, so ObsMiddleware "
                    "steps aside; use obs_fastapi.instrument_app(app) instead of "
                    "add_middleware to get obs's span instead of FastAPI's.",
                )
            return True
        return False

    def _server_span_outside(self, current: Any) -> bool:
        if not current.is_recording():
            return False
        warn_once(
            "obs_fastapi:server-span-outside",
            "obs: a server span from another instrumentation (%s) is already active for this "
            "request, so obs_fastapi adds none; remove one of the two instrumentations.",
            getattr(getattr(current, "instrumentation_scope", None), "name", "unknown"),
        )
        return True

    def _start(self, exchange: _Exchange, attributes: dict[str, AttributeValue]) -> Any:
        """Start the span (headers read once), make it current; returns the context token."""
        scope = exchange.scope
        carrier: dict[str, str] | None = None
        host: bytes | None = None
        textmap = _get_textmap()
        fields = self._fields if textmap is self._textmap else self._propagation_fields(textmap)
        for key, value in scope["headers"]:
            if key == b"host":
                host = value
            elif key == b"user-agent":
                attributes["user_agent.original"] = value.decode("latin-1")
            elif key in fields:
                if carrier is None:
                    carrier = {}
                header = key.decode("latin-1")
                text = value.decode("latin-1")
                previous = carrier.get(header)
                carrier[header] = text if previous is None else f"{previous},{text}"
        if host is not None:
            for attribute in server_attributes(host, attributes["url.scheme"]):  # type: ignore[arg-type]
                attributes[attribute[0]] = attribute[1]
        client = scope.get("client")
        if client:
            attributes["client.address"] = client[0]
        selection = self._request_headers
        if selection is not None:
            attributes.update(
                header_attributes(scope["headers"], selection, "http.request.header.")
            )
        parent = None
        links = None
        if carrier is not None:
            incoming = extract(carrier, policy=self.options.propagation)
            parent = incoming.context
            links = incoming.links or None
            if incoming.attributes:
                attributes.update(incoming.attributes)
        span = self._tracer.start_span(exchange.name, parent, _SERVER, attributes, links)
        exchange.span = span
        prefix = scope.get("app_root_path")
        if prefix is None:
            prefix = scope.get("root_path", "")
        if prefix:
            prefix = prefix.rstrip("/")
            exchange.prefix = prefix
        in_context: Any = None  # the request telemetry FastAPI reads from the context
        native = self._native
        if native is not None:
            existing = scope.get(NATIVE)
            if existing is not None:
                exchange.sink = existing  # FastAPI runs outside for metrics/logs only: share
                if self._operation_spans:
                    existing.tracer = self._tracer
            else:
                if settings() is not self._settings:
                    self._capture()
                ops = self._tracer if self._operation_spans else None
                data = (
                    native.data_class() if self._capture_arguments or self._capture_errors else None
                )
                sink = native.make(exchange.name, prefix, ops, data)
                exchange.sink = sink
                scope[NATIVE] = sink
                if ops is not None or data is not None:
                    in_context = sink
        else:
            scope[NATIVE] = None
        scope[MARK] = True
        # Starlette's experimental OpenTelemetryMiddleware, if in the stack below, reads this
        # as "a server span exists" and passes through: one span per request.
        scope[STARLETTE] = True
        if parent is None and in_context is None:
            return attach_span(span)  # the usual request: one context copy, no API layers
        context = _set_span_in_context(span, parent)
        if in_context is not None:
            context = _set_value(native.context_key, in_context, context)  # type: ignore[union-attr]
        return _attach(context)

    @staticmethod
    def _mounted(template: str, sink: Any, route: Any) -> str:
        """The template of a request FastAPI routed to a mount (``.../{path}``)."""
        if (
            template == sink._mount_prefix + "/{path}"
            and route is not None
            and not hasattr(route, "routes")  # a Mount itself
        ):
            # A mount whose app is not FastAPI (a Starlette app): FastAPI saw the mount only,
            # the inner router left its route in the scope.
            inner = getattr(route, "path_format", None)
            if isinstance(inner, str):
                return str(sink._mount_prefix + inner)
        return template

    def _finish(self, exchange: _Exchange, exc: BaseException | None) -> None:
        span = exchange.span
        end = exchange.end
        try:
            route = exchange.scope.get("route")
            sink = exchange.sink
            template: str | None
            if sink is not None:  # FastAPI reported the full template as it routed
                template = sink.route
                if template is not None and template.endswith("/{path}"):
                    template = self._mounted(template, sink, route)
            else:
                found = self._table.template(route) if route is not None else None
                template = exchange.prefix + found if found is not None else None
            if template is not None:
                end["http.route"] = template
                span.update_name(f"{exchange.name} {template}")
                if route is not None:
                    end.update(self._route_attributes.get(route))
            if sink is not None:
                data = sink.data
                if data is not None:
                    self._record_data(data, end)
                    sink.data = None  # FastAPI's contract: request data dies with the request
            if exc is not None and not _normal_close(exc):
                exchange.failure = exc
                span.set_attributes(end)
                record_exception(span, exc)
                return
            if "error.type" in end:
                span.set_status(_ERROR)
            span.set_attributes(end)
        except Exception as error:
            internal_error("obs_fastapi: ending the request span", error)
        finally:
            metrics = self._metrics
            if metrics is not None and exchange.scope["type"] == "http":
                try:
                    failure = exchange.failure
                    metrics.record(
                        _perf() - exchange.started,
                        exchange.start,
                        end,
                        error_type(failure)
                        if failure is not None and "error.type" not in end
                        else None,
                    )
                except Exception as error:
                    internal_error("obs_fastapi: request duration metric", error)
            span.end()

    def _record_data(self, data: Any, end: dict[str, AttributeValue]) -> None:
        native = self._native
        capture_arguments, capture_errors = self._capture()
        if capture_arguments and data.values and native is not None:
            end["fastapi.arguments"] = arguments_value(data.values, native.plumbing)
        if capture_errors and data.errors:
            end["fastapi.validation.error_count"] = len(data.errors)
            end["fastapi.validation.errors"] = errors_value(data.errors)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            method = scope["method"]
            if method in KNOWN_METHODS:
                exchange = _Exchange(self, scope, method, receive, send)
                attributes: dict[str, AttributeValue] = {"http.request.method": method}
            else:
                exchange = _Exchange(self, scope, "HTTP", receive, send)
                attributes = {
                    "http.request.method": "_OTHER",
                    "http.request.method_original": method,
                }
            attributes["url.scheme"] = scope.get("scheme") or "http"
            attributes["url.path"] = scope["path"]
            query = scope.get("query_string")
            if query:
                text = query.decode("latin-1")
                # search first: the substitution (template parsing included) only when needed
                if self._sensitive is not None and self._sensitive(text) is not None:
                    text = self._redact(_REDACTED, text)
                attributes["url.query"] = text
            version = scope.get("http_version")
            if version:
                attributes["network.protocol.version"] = version
            exchange.start = attributes
            exchange.started = _perf()
            token = self._start(exchange, attributes)
        except Exception as exc:
            internal_error("obs_fastapi: starting the request span", exc)
            await self.app(scope, receive, send)
            return
        try:
            await self.app(scope, exchange.receive, exchange.send)
        except BaseException as exc:
            if not exchange.finished:
                exchange.finish(exc)
            raise
        finally:
            if not exchange.finished:
                exchange.finish(None)
            detach(token)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            exchange = _Exchange(self, scope, "WS", receive, send)
            attributes: dict[str, AttributeValue] = {
                "url.scheme": scope.get("scheme") or "ws",
                "url.path": scope["path"],
                "network.protocol.name": "websocket",
            }
            token = self._start(exchange, attributes)
        except Exception as exc:
            internal_error("obs_fastapi: starting the websocket span", exc)
            await self.app(scope, receive, send)
            return
        failure: BaseException | None = None
        try:
            await self.app(scope, receive, send)
        except BaseException as exc:
            failure = exc
            raise
        finally:
            exchange.finished = True
            self._finish(exchange, failure)
            detach(token)


__all__ = ["DETAIL", "MARK", "NATIVE", "SCOPE_NAME", "ObsMiddleware"]
