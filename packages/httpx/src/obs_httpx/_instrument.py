"""Switching the instrumentation on and off: the default transports of httpx, patched once.

``HTTPTransport.handle_request`` and ``AsyncHTTPTransport.handle_async_request`` are where
every request of every ``Client`` / ``AsyncClient`` using the default transports is sent
(redirects and each retry included). ``httpx2`` (the fork recent OpenAI clients are built
on, same transport API) is patched the same way when it is installed. ``uninstrument_httpx()``
puts the originals back exactly. Transports the user supplies (``MockTransport``,
``ASGITransport``, their own) are not patched: wrap them in ``ObsTransport`` to trace them.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import threading
from typing import Any

from opentelemetry import metrics as metrics_api
from opentelemetry import trace as trace_api

from obs_httpx._call import stream_types
from obs_httpx._transport import Telemetry, send, send_async

#: The libraries whose transports are patched (each when installed).
MODULES = ("httpx", "httpx2")


class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.telemetry: Telemetry | None = None
        self.originals: list[tuple[type[Any], str, Any, Any]] = []  # owner, name, theirs, ours


_state = _State()


def _installed_modules() -> list[Any]:
    modules = []
    for name in MODULES:
        if importlib.util.find_spec(name) is not None:
            modules.append(importlib.import_module(name))
    return modules


def _patches(module: Any) -> list[tuple[type[Any], str, Any]]:
    streams = stream_types(module)
    sync_original = module.HTTPTransport.handle_request
    async_original = module.AsyncHTTPTransport.handle_async_request

    @functools.wraps(sync_original)
    def handle_request(transport: Any, request: Any) -> Any:
        return send(_state.telemetry, request, sync_original.__get__(transport), streams)

    @functools.wraps(async_original)
    async def handle_async_request(transport: Any, request: Any) -> Any:
        return await send_async(
            _state.telemetry, request, async_original.__get__(transport), streams
        )

    return [
        (module.HTTPTransport, "handle_request", handle_request),
        (module.AsyncHTTPTransport, "handle_async_request", handle_async_request),
    ]


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
        if _state.originals:
            return
        for module in _installed_modules():
            for owner, name, ours in _patches(module):
                theirs = owner.__dict__[name]
                setattr(owner, name, ours)
                _state.originals.append((owner, name, theirs, ours))


def uninstrument_httpx() -> None:
    """Restore httpx's transports exactly; requests in flight finish their spans."""
    with _state.lock:
        for owner, name, theirs, ours in reversed(_state.originals):
            if owner.__dict__.get(name) is ours:  # someone patched after us: leave theirs
                setattr(owner, name, theirs)
        _state.originals.clear()
        _state.telemetry = None


def is_instrumented() -> bool:
    return bool(_state.originals)
