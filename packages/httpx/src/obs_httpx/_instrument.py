"""Switching the instrumentation on and off: the default transports of httpx, patched once.

``HTTPTransport.handle_request`` and ``AsyncHTTPTransport.handle_async_request`` are where
every request of every ``Client`` / ``AsyncClient`` using the default transports is sent
(redirects and each retry included). ``httpx2`` (the fork recent OpenAI clients are built
on, same transport API) is patched the same way when it is installed. ``uninstrument_httpx()``
puts the originals back exactly. Transports the user supplies (``MockTransport``,
``ASGITransport``, their own) are not patched: wrap them in ``ObsTransport`` to trace them.
"""

from __future__ import annotations

import importlib
import importlib.util
import threading
from typing import Any

from opentelemetry import metrics as metrics_api
from opentelemetry import trace as trace_api

from obs.instrumentation import Patch, wrap
from obs_httpx._call import stream_types
from obs_httpx._transport import Telemetry, send, send_async

#: The libraries whose transports are patched (each when installed).
MODULES = ("httpx", "httpx2")


class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.telemetry: Telemetry | None = None
        self.patches: list[Patch] = []


_state = _State()


def _installed_modules() -> list[Any]:
    modules = []
    for name in MODULES:
        if importlib.util.find_spec(name) is not None:
            modules.append(importlib.import_module(name))
    return modules


def _patch(module: Any) -> None:
    streams = stream_types(module)

    def handle_request(wrapped: Any, transport: Any, args: Any, kwargs: Any) -> Any:
        return send(_state.telemetry, _request(args, kwargs), wrapped, streams)

    async def handle_async_request(wrapped: Any, transport: Any, args: Any, kwargs: Any) -> Any:
        return await send_async(_state.telemetry, _request(args, kwargs), wrapped, streams)

    _state.patches.append(wrap(module.HTTPTransport, "handle_request", handle_request))
    _state.patches.append(
        wrap(module.AsyncHTTPTransport, "handle_async_request", handle_async_request)
    )


def _request(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return args[0] if args else kwargs["request"]


def instrument_httpx(
    *,
    tracer_provider: trace_api.TracerProvider | None = None,
    meter_provider: metrics_api.MeterProvider | None = None,
    propagate: bool = True,
) -> None:
    """Trace every request sent through httpx's default transports; again replaces options.

    ``propagate=False`` records spans without adding ``traceparent``/``baggage`` headers
    (for calls to third parties that should not learn your trace ids).
    """
    telemetry = Telemetry(
        tracer_provider=tracer_provider, meter_provider=meter_provider, propagate=propagate
    )
    with _state.lock:
        _state.telemetry = telemetry
        if _state.patches:
            return
        for module in _installed_modules():
            _patch(module)


def uninstrument_httpx() -> None:
    """Restore httpx's transports exactly; requests in flight finish their spans."""
    with _state.lock:
        # Someone who wrapped over obs keeps their wrapper; obs's then passes straight through.
        while _state.patches:
            _state.patches.pop().undo()
        _state.telemetry = None


def is_instrumented() -> bool:
    return bool(_state.patches)
