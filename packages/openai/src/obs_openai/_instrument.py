"""Switching the instrumentation on and off: one wrapper on the client's single request path.

Every resource method of ``OpenAI``/``AsyncOpenAI`` (and the Azure clients, which subclass
them) ends in ``SyncAPIClient.request`` / ``AsyncAPIClient.request``, so wrapping those two
methods (with obs's patching helper) covers ``create``, ``parse``, the ``stream()`` helpers,
``with_raw_response`` and ``with_streaming_response`` at once. Requests to endpoints that are
not model calls pass straight through. A model call's request runs with HTTP client spans
suppressed (``client_call_context``, as inside ``suppress_http_client_spans()``): an HTTP
client integration (obs-httpx) records nothing of its own under it, even when the model
call's span is sampled out (not recording, so not a CLIENT span the HTTP integration could
see).

Instrumentation is either global (every client) or per client; a client's own instrumentation
wins over the global one.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Mapping
from typing import Any

from opentelemetry import metrics as metrics_api
from opentelemetry import trace as trace_api
from opentelemetry.util.types import AttributeValue

from obs.instrumentation import (
    BoundedCache,
    Patch,
    attach_context,
    client_call_context,
    detach,
    internal_error,
    wrap,
)
from obs_openai import _messages
from obs_openai import _semconv as sc
from obs_openai._call import CallShape, ModelCall, Telemetry
from obs_openai._raw import TracedAsyncRawResponse, TracedRawResponse
from obs_openai._request_attributes import request_attributes
from obs_openai._streams import TracedAsyncStream, TracedStream

_CLIENT = trace_api.SpanKind.CLIENT
_perf = time.perf_counter


class _State:
    """What is instrumented, and the host classes, resolved once when first switched on."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.everywhere: Telemetry | None = None
        self.clients: weakref.WeakKeyDictionary[Any, Telemetry] = weakref.WeakKeyDictionary()
        #: Whether any client was instrumented on its own (its entry may have gone since).
        self.per_client = False
        self.patches: list[Patch] = []
        self.stream: type[Any] = type(None)
        self.async_stream: type[Any] = type(None)
        self.legacy_response: type[Any] = type(None)
        self.api_response: type[Any] = type(None)
        self.async_api_response: type[Any] = type(None)
        self.azure: type[Any] = type(None)
        # (endpoint, model, azure, id(base_url)) -> the calls' name and fixed attributes;
        # bounded for clients made with ever-new base URLs or models.
        self.shapes: BoundedCache[tuple[str, str | None, bool, int], CallShape] = BoundedCache(256)


_state = _State()


def _telemetry(client: Any) -> Telemetry | None:
    # A flag, not ``if _state.clients``: a WeakKeyDictionary's length is computed in Python.
    if _state.per_client:
        own = _state.clients.get(client)
        if own is not None:
            return own
    return _state.everywhere


def _server(url: Any) -> tuple[str | None, int | None]:
    address = url.host or None
    port = url.port or (443 if url.scheme == "https" else 80 if url.scheme == "http" else None)
    return address, port


def _shape(client: Any, endpoint: str, model: object) -> CallShape:
    """The name and fixed attributes of calls like this one, built once per kind of call."""
    url = getattr(client, "_base_url", None)
    azure = isinstance(client, _state.azure)
    # URLs are immutable; the stored one is compared by identity, so a recycled id() of a
    # collected URL never matches.
    key = (endpoint, model if type(model) is str else None, azure, id(url))
    found = _state.shapes.get(key)
    if found is not None and found.url is url:
        return found
    operation = sc.OPERATION_NAMES[endpoint]
    provider = sc.PROVIDER_AZURE if azure else sc.PROVIDER_OPENAI
    attributes: dict[str, AttributeValue] = {sc.OPERATION: operation, sc.PROVIDER: provider}
    if isinstance(model, str) and model:
        attributes[sc.REQUEST_MODEL] = model
        name = f"{operation} {model}"
    else:
        name = operation
    if url is not None:
        address, port = _server(url)
        if address:
            attributes[sc.SERVER_ADDRESS] = address
            if port:
                attributes[sc.SERVER_PORT] = port
    shape = CallShape(url, name, attributes)
    _state.shapes.put(key, shape)
    return shape


def _start(telemetry: Telemetry, client: Any, options: Any, stream: bool) -> ModelCall | None:
    """Start the span of a model call; None when ``options`` is not one (or on obs failure)."""
    try:
        if options.method != "post":
            return None
        endpoint = sc.ENDPOINTS.get(options.url)
        if endpoint is None:
            return None
        body = options.json_data
        if type(body) is not dict and not isinstance(body, Mapping):
            body = {}
        extra = options.extra_json
        if extra:
            body = {**body, **extra}
        shape = _shape(client, endpoint, body.get("model"))
        attributes = shape.attributes.copy()
        request_attributes(endpoint, body, attributes, getattr(options, "post_parser", None))
        if stream:
            attributes[sc.REQUEST_STREAM] = True
        capture = telemetry.capture()
        if capture:
            attributes.update(_messages.input_attributes(endpoint, body))
        started = _perf()
        tracer = telemetry.tracer
        # Past obs's swappable tracer proxy to the tracer behind it: one call less per span.
        span = getattr(tracer, "_real", tracer).start_span(shape.name, None, _CLIENT, attributes)
        return ModelCall(telemetry, endpoint, span, shape, capture, started)
    except Exception as exc:
        internal_error("openai span start", exc)
        return None


def _returned(call: ModelCall, result: Any) -> Any:
    """What the user gets: ``result`` itself, or it behind a proxy that ends the call later."""
    try:
        state = _state
        if isinstance(result, state.stream):
            return TracedStream(result, call)
        if isinstance(result, state.async_stream):
            return TracedAsyncStream(result, call)
        streams = (state.stream, state.async_stream)
        if isinstance(result, state.legacy_response):
            if result._stream:  # the stream starts when the user parses the response
                return TracedRawResponse(result, call, streams)
            # A raw non-streamed answer is complete already; read it without parsing for the
            # user (parsing may run their validators; decoding JSON has no side effects).
            call.answered(result.http_response.json())
            return result
        if isinstance(result, state.api_response):
            return TracedRawResponse(result, call, streams)
        if isinstance(result, state.async_api_response):
            return TracedAsyncRawResponse(result, call, streams)
        call.answered(result)
    except Exception as exc:
        internal_error("openai response", exc)
        call.end()
    return result


def _options(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return args[1] if len(args) > 1 else kwargs.get("options")


def _sync_request(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    telemetry = _telemetry(instance)
    if telemetry is None:
        return wrapped(*args, **kwargs)
    call = _start(telemetry, instance, _options(args, kwargs), bool(kwargs.get("stream")))
    if call is None:
        return wrapped(*args, **kwargs)
    # The call's span current and HTTP client spans suppressed, in one context.
    token = attach_context(client_call_context(call.span))
    try:
        result = wrapped(*args, **kwargs)
    except BaseException as exc:
        detach(token)
        call.fail(exc)
        raise
    detach(token)
    return _returned(call, result)


def _async_request(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    telemetry = _telemetry(instance)
    if telemetry is None:
        return wrapped(*args, **kwargs)
    # The span starts when the request is awaited, not when the coroutine is created.
    return _traced_async_request(telemetry, wrapped, instance, args, kwargs)


async def _traced_async_request(
    telemetry: Telemetry, wrapped: Any, instance: Any, args: Any, kwargs: Any
) -> Any:
    call = _start(telemetry, instance, _options(args, kwargs), bool(kwargs.get("stream")))
    if call is None:
        return await wrapped(*args, **kwargs)
    token = attach_context(client_call_context(call.span))
    try:
        result = await wrapped(*args, **kwargs)
    except BaseException as exc:
        detach(token)
        call.fail(exc)
        raise
    detach(token)
    return _returned(call, result)


def _patch() -> None:
    """Wrap the two request methods and resolve the host classes (once)."""
    if _state.patches:
        return
    from openai._base_client import AsyncAPIClient, SyncAPIClient
    from openai._legacy_response import LegacyAPIResponse
    from openai._response import APIResponse, AsyncAPIResponse
    from openai._streaming import AsyncStream, Stream
    from openai.lib.azure import BaseAzureClient

    _state.stream, _state.async_stream = Stream, AsyncStream
    _state.legacy_response = LegacyAPIResponse
    _state.api_response, _state.async_api_response = APIResponse, AsyncAPIResponse
    _state.azure = BaseAzureClient
    for owner, wrapper in ((SyncAPIClient, _sync_request), (AsyncAPIClient, _async_request)):
        _state.patches.append(wrap(owner, "request", wrapper))


def _unpatch() -> None:
    # Someone who wrapped over obs keeps their wrapper; obs's then passes straight through.
    while _state.patches:
        _state.patches.pop().undo()


def instrument_openai(
    client: Any = None,
    *,
    capture_content: bool | None = None,
    tracer_provider: trace_api.TracerProvider | None = None,
    meter_provider: metrics_api.MeterProvider | None = None,
) -> None:
    """Trace the model calls of ``client``, or of every OpenAI client when it is None.

    ``capture_content`` records prompts and completions (None: follow
    ``obs.configure(capture_content=...)`` / ``OBS_CAPTURE_CONTENT``). Calling again replaces
    the options. Spans and metrics go to the global providers unless providers are given.
    """
    telemetry = Telemetry(
        capture_content=capture_content,
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
    )
    with _state.lock:
        _patch()
        if client is None:
            _state.everywhere = telemetry
        else:
            _state.clients[client] = telemetry
            _state.per_client = True


def uninstrument_openai(client: Any = None) -> None:
    """Undo :func:`instrument_openai` for ``client`` (None: the global instrumentation).

    When nothing is instrumented any more, the client classes are restored exactly.
    """
    with _state.lock:
        if client is None:
            _state.everywhere = None
        else:
            _state.clients.pop(client, None)
            _state.per_client = bool(_state.clients)
        if _state.everywhere is None and not _state.clients:
            _unpatch()


def is_instrumented(client: Any = None) -> bool:
    """Is ``client`` (None: every client) instrumented?"""
    if client is None:
        return _state.everywhere is not None
    return _telemetry(client) is not None
