"""One SERVER span per request: names, attributes, status, errors, streaming."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.trace import SpanKind, StatusCode
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

import obs_fastapi
from tests.fastapi.conftest import Boom, build_app, client


def server_spans(capture: Any) -> list[Any]:
    return [s for s in capture.spans if s.kind is SpanKind.SERVER]


@pytest.fixture
def app(obs_capture: Any) -> FastAPI:
    app = build_app()
    obs_fastapi.instrument_app(app)
    return app


async def test_one_server_span_named_by_route_template(app: FastAPI, obs_capture: Any) -> None:
    async with client(app) as c:
        response = await c.get("/items/42?q=hello", headers={"user-agent": "tests/1.0"})
    assert response.json() == {"item_id": 42, "q": "hello"}
    (span,) = obs_capture.spans
    assert span.kind is SpanKind.SERVER
    assert span.name == "GET /items/{item_id}"
    assert span.instrumentation_scope.name == "obs.fastapi"
    assert span.status.status_code is StatusCode.UNSET
    attrs = dict(span.attributes)
    assert attrs == {
        "http.request.method": "GET",
        "url.scheme": "http",
        "url.path": "/items/42",
        "url.query": "q=hello",
        "network.protocol.version": "1.1",
        "server.address": "testserver",
        "server.port": 80,
        "client.address": "203.0.113.7",
        "user_agent.original": "tests/1.0",
        "http.response.status_code": 200,
        "http.route": "/items/{item_id}",
        "fastapi.route.name": "read_item",
        "code.function.name": "tests.fastapi.conftest.build_app.<locals>.read_item",
    }


@pytest.mark.parametrize(
    ("path", "name", "route"),
    [
        ("/v1/users/7/orders/abc", "GET /v1/users/{user_id}/orders/{order_id}", None),
        ("/tenants/acme/things/9", "GET /tenants/{tenant}/things/{thing_id}", None),
        ("/legacy/hello/bob", "GET /legacy/hello/{name}", None),
    ],
)
async def test_routers_and_mounts_give_the_full_template(
    app: FastAPI, obs_capture: Any, path: str, name: str, route: None
) -> None:
    async with client(app) as c:
        assert (await c.get(path)).status_code == 200
    (span,) = obs_capture.spans  # the mounted FastAPI app adds no span of its own
    assert span.name == name
    assert span.attributes["http.route"] == name.split(" ", 1)[1]
    assert span.attributes["url.path"] == path


async def test_router_route_name(app: FastAPI, obs_capture: Any) -> None:
    async with client(app) as c:
        await c.get("/v1/users/7/orders/abc")
    assert obs_capture.one().attributes["fastapi.route.name"] == "user-order"


async def test_unmatched_route_is_named_by_method_never_the_raw_path(
    app: FastAPI, obs_capture: Any
) -> None:
    async with client(app) as c:
        assert (await c.get("/no/such/path/123")).status_code == 404
    span = obs_capture.one()
    assert span.name == "GET"
    assert "http.route" not in span.attributes
    assert span.attributes["http.response.status_code"] == 404
    assert span.status.status_code is StatusCode.UNSET  # a 4xx is the client's error


async def test_unknown_method_is_other(app: FastAPI, obs_capture: Any) -> None:
    async with client(app) as c:
        await c.request("FROBNICATE", "/items/1")
    span = obs_capture.one()
    assert span.name.split(" ")[0] == "HTTP"
    assert span.attributes["http.request.method"] == "_OTHER"
    assert span.attributes["http.request.method_original"] == "FROBNICATE"


async def test_http_exception_is_not_a_server_error(app: FastAPI, obs_capture: Any) -> None:
    async with client(app) as c:
        assert (await c.get("/missing")).status_code == 404
    span = obs_capture.one()
    assert span.name == "GET /missing"
    assert span.status.status_code is StatusCode.UNSET
    assert "error.type" not in span.attributes


async def test_5xx_response_marks_the_span_failed(app: FastAPI, obs_capture: Any) -> None:
    async with client(app) as c:
        assert (await c.get("/unavailable")).status_code == 503
    span = obs_capture.one()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "503"
    assert span.attributes["http.response.status_code"] == 503


async def test_exception_recorded_and_reraised_unchanged(obs_capture: Any) -> None:
    plain = build_app(tracing=False, metrics=False, logs=False)
    instrumented = build_app()
    obs_fastapi.instrument_app(instrumented)
    outcomes = []
    for app in (plain, instrumented):
        async with client(app) as c:
            with pytest.raises(Boom) as raised:
                await c.get("/boom")
        outcomes.append((type(raised.value), str(raised.value)))
        async with client(app, raise_app_exceptions=False) as c:
            response = await c.get("/boom")
        outcomes.append((response.status_code, response.text))
    assert outcomes[:2] == outcomes[2:]  # same behaviour with and without obs
    spans = obs_capture.find("GET /boom")
    assert len(spans) == 2
    for span in spans:
        assert span.status.status_code is StatusCode.ERROR
        assert span.attributes["error.type"] == "tests.fastapi.conftest.Boom"
        assert span.attributes["http.response.status_code"] == 500
        (event,) = span.events
        assert event.name == "exception"
        assert event.attributes["exception.message"] == "kaboom"


async def test_long_stream_ends_the_span_once_after_the_last_chunk(
    app: FastAPI, obs_capture: Any
) -> None:
    async with client(app) as c:
        response = await c.get("/stream?chunks=500")
    assert response.text.count("\n") == 500
    (span,) = obs_capture.spans
    assert span.name == "GET /stream"
    assert span.status.status_code is StatusCode.UNSET
    assert span.attributes["http.response.status_code"] == 200


async def test_failure_mid_stream(app: FastAPI, obs_capture: Any) -> None:
    async with client(app) as c:
        with pytest.raises(Boom):
            await c.get("/stream-fails")
    (span,) = obs_capture.spans
    assert span.attributes["http.response.status_code"] == 200  # already sent
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "tests.fastapi.conftest.Boom"


async def test_background_task_runs_under_the_request_span(app: FastAPI, obs_capture: Any) -> None:
    async with client(app) as c:
        assert (await c.get("/background")).json() == {"queued": True}
    assert obs_capture.tree() == ["GET /background", "  background work"]
    request, work = obs_capture.one("GET /background"), obs_capture.one("background work")
    assert request.end_time <= work.end_time  # the response, not the task, sets the duration


async def test_client_disconnect_before_the_response(app: FastAPI, obs_capture: Any) -> None:
    """Drive the ASGI app by hand: the client is gone before the streamed body completes."""
    messages: list[dict[str, Any]] = []
    sent_first = False

    async def receive() -> dict[str, Any]:
        if not sent_first:
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal sent_first
        messages.append(message)
        if message["type"] == "http.response.body":
            sent_first = True
            raise OSError("client went away")

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/stream",
        "raw_path": b"/stream",
        "query_string": b"chunks=100",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }
    with pytest.raises(ClientDisconnect) as raised:
        await app(scope, receive, send)
    (span,) = obs_capture.spans
    assert span.name == "GET /stream"
    assert span.status.status_code is StatusCode.ERROR
    assert (
        span.attributes["error.type"]
        == f"{type(raised.value).__module__}.{type(raised.value).__qualname__}"
    )


async def test_starlette_app_with_the_middleware(obs_capture: Any) -> None:
    async def hello(request: Request) -> PlainTextResponse:
        return PlainTextResponse("hi " + request.path_params["name"])

    inner = Starlette(routes=[Route("/hello/{name}", hello)])
    app = Starlette(routes=[Mount("/api/{version}", inner), Route("/ping", hello)])
    app.add_middleware(obs_fastapi.ObsMiddleware)
    async with client(app) as c:
        assert (await c.get("/api/v2/hello/ann")).text == "hi ann"
        assert (await c.get("/nowhere")).status_code == 404
    first, second = obs_capture.spans
    assert first.name == "GET /api/{version}/hello/{name}"
    assert first.attributes["fastapi.route.name"] == "hello"
    assert second.name == "GET"


async def test_instrument_app_on_a_starlette_app(obs_capture: Any) -> None:
    async def hello(request: Request) -> PlainTextResponse:
        raise Boom("starlette")

    app = Starlette(routes=[Route("/x/{y}", hello)])
    obs_fastapi.instrument_app(app)
    async with client(app, raise_app_exceptions=False) as c:
        assert (await c.get("/x/1")).status_code == 500
    span = obs_capture.one("GET /x/{y}")
    assert span.attributes["http.response.status_code"] == 500
    assert span.attributes["error.type"] == "tests.fastapi.conftest.Boom"


async def test_excluded_urls_create_no_span(obs_capture: Any) -> None:
    app = build_app()
    obs_fastapi.instrument_app(app, excluded_urls="^/health$,/metrics")
    async with client(app) as c:
        assert (await c.get("/health")).json() == {"status": "ok"}
        await c.get("/items/1")
    assert [s.name for s in obs_capture.spans] == ["GET /items/{item_id}"]


async def test_excluded_urls_from_the_environment(
    obs_capture: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(obs_fastapi.EXCLUDED_URLS_ENV, "health")
    app = build_app()
    obs_fastapi.instrument_app(app)
    async with client(app) as c:
        await c.get("/health")
        await c.get("/tenants/x/things/health")  # the pattern is searched in the path
    assert obs_capture.spans == []


async def test_uninstrument_app_restores_the_app(obs_capture: Any) -> None:
    app = build_app()
    before = dict(app._telemetry)
    obs_fastapi.instrument_app(app)
    assert obs_fastapi.is_instrumented(app)
    assert app._telemetry["tracing"] is False
    async with client(app) as c:
        await c.get("/items/1")
        obs_fastapi.uninstrument_app(app)
        assert app._telemetry == before
        assert "build_middleware_stack" not in vars(app)
        obs_capture.clear()
        assert (await c.get("/items/1")).status_code == 200
    # FastAPI's own telemetry is back: its spans, not obs's
    assert {s.instrumentation_scope.name for s in obs_capture.spans} == {"fastapi"}


async def test_instrumenting_twice_reinstruments(obs_capture: Any) -> None:
    app = build_app()
    obs_fastapi.instrument_app(app)
    obs_fastapi.instrument_app(app, excluded_urls=["items"])
    async with client(app) as c:
        await c.get("/items/1")
        await c.get("/health")
    assert [s.name for s in obs_capture.spans] == ["GET /health"]


def test_bad_options_fail_at_setup() -> None:
    with pytest.raises(TypeError):
        obs_fastapi.instrument_app(build_app(), no_such_option=True)
    with pytest.raises(ValueError, match="propagation"):
        obs_fastapi.instrument_app(build_app(), propagation="sometimes")


async def test_lifespan_passes_through(obs_capture: Any) -> None:
    app = build_app()
    obs_fastapi.instrument_app(app)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        await c.get("/health")
    assert len(obs_capture.spans) == 1
