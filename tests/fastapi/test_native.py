"""FastAPI's native telemetry: never two server spans, operation spans on request."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.trace import SpanKind
from starlette.middleware.opentelemetry import OpenTelemetryMiddleware

import obs_fastapi
from tests.fastapi.conftest import build_app, client


def servers(capture: Any) -> list[Any]:
    return [s for s in capture.spans if s.kind is SpanKind.SERVER]


async def test_without_obs_fastapi_native_telemetry_switches_itself_on(obs_capture: Any) -> None:
    """What a user gets from FastAPI alone once obs.configure() installed a provider."""
    async with client(build_app()) as c:
        await c.get("/items/1")
    assert obs_capture.tree() == [
        "GET /items/{item_id}",
        "  fastapi.dependencies",
        "  fastapi.endpoint",
        "  fastapi.serialization",
    ]
    assert {s.instrumentation_scope.name for s in obs_capture.spans} == {"fastapi"}
    assert "http.server.request.duration" in obs_capture.metrics()


async def test_obs_replaces_native_tracing_one_span(obs_capture: Any) -> None:
    app = build_app()  # native telemetry on, as shipped
    obs_fastapi.instrument_app(app)
    async with client(app) as c:
        for path in ("/items/1", "/tenants/t/things/2", "/v1/users/1/orders/x", "/nope"):
            await c.get(path)
    assert len(obs_capture.spans) == 4
    assert {s.instrumentation_scope.name for s in obs_capture.spans} == {"obs.fastapi"}
    assert len(servers(obs_capture)) == 4
    # FastAPI's own metric is off with its tracing; obs records the stable one itself, once
    points = obs_capture.metrics()["http.server.request.duration"]
    assert sum(p.count for p in points) == 4


async def test_operation_spans_as_an_option(obs_capture: Any) -> None:
    app = build_app()
    obs_fastapi.instrument_app(app, operation_spans=True)
    async with client(app) as c:
        await c.get("/items/1")
        await c.get("/background")
    assert obs_capture.tree() == [
        "GET /items/{item_id}",
        "  fastapi.dependencies",
        "  fastapi.endpoint",
        "  fastapi.serialization",
        "GET /background",
        "  fastapi.dependencies",
        "  fastapi.endpoint",
        "  fastapi.serialization",
        "  fastapi.background_task",
        "    background work",
    ]
    assert len(servers(obs_capture)) == 2


async def test_keep_native_metrics_still_one_span(obs_capture: Any) -> None:
    app = build_app()
    obs_fastapi.instrument_app(app, keep_native_metrics=True, operation_spans=True)
    async with client(app) as c:
        await c.get("/items/1")
    assert obs_capture.tree() == [
        "GET /items/{item_id}",
        "  fastapi.dependencies",
        "  fastapi.endpoint",
        "  fastapi.serialization",
    ]
    (point,) = obs_capture.metrics()["http.server.request.duration"]
    assert point.attributes["http.route"] == "/items/{item_id}"


async def test_middleware_added_by_hand_under_native_tracing_steps_aside(
    obs_capture: Any,
) -> None:
    app = build_app(operation_spans=False)
    app.add_middleware(obs_fastapi.ObsMiddleware)
    async with client(app) as c:
        await c.get("/items/1")
    (span,) = obs_capture.spans
    assert span.instrumentation_scope.name == "fastapi"  # FastAPI's, and only FastAPI's


async def test_middleware_by_hand_with_native_tracing_off(obs_capture: Any) -> None:
    app = build_app(tracing=False)
    app.add_middleware(obs_fastapi.ObsMiddleware)
    async with client(app) as c:
        await c.get("/v1/users/1/orders/x")
    (span,) = obs_capture.spans
    assert span.name == "GET /v1/users/{user_id}/orders/{order_id}"


async def test_instrumented_app_mounted_in_an_instrumented_app(obs_capture: Any) -> None:
    outer, inner = FastAPI(), build_app()

    @outer.get("/up")
    async def up() -> str:
        return "up"

    outer.mount("/inner", inner)
    obs_fastapi.instrument_app(outer)
    obs_fastapi.instrument_app(inner)
    async with client(outer) as c:
        await c.get("/inner/items/3")
    (span,) = obs_capture.spans
    assert span.name == "GET /inner/items/{item_id}"


async def test_contrib_instrumentation_alongside_never_doubles(obs_capture: Any) -> None:
    app = build_app()
    obs_fastapi.instrument_app(app)
    FastAPIInstrumentor.instrument_app(app)
    try:
        async with client(app) as c:
            await c.get("/items/1")
        assert len(servers(obs_capture)) == 1
    finally:
        FastAPIInstrumentor.uninstrument_app(app)


async def test_starlette_middleware_alongside_never_doubles(obs_capture: Any) -> None:
    app = build_app()
    app.add_middleware(OpenTelemetryMiddleware)
    obs_fastapi.instrument_app(app)
    async with client(app) as c:
        await c.get("/items/1")
    (span,) = servers(obs_capture)
    assert span.instrumentation_scope.name == "obs.fastapi"
