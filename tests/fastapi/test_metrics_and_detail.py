"""``http.server.request.duration`` recorded by obs, and the ``detail`` of 4xx answers.

Through a real uvicorn server on loopback, as users run FastAPI.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse, PlainTextResponse

import obs_fastapi
from tests.fastapi.conftest import Server, build_app


def wait_for_spans(capture: Any, count: int) -> list[Any]:
    deadline = time.monotonic() + 10  # the server thread ends the span, not the test
    while time.monotonic() < deadline and len(capture.spans) < count:
        time.sleep(0.01)
    return list(capture.spans)


@pytest.fixture
def server(obs_capture: Any) -> Any:
    app = build_app()

    @app.get("/denied/{who}")
    async def denied(who: str) -> None:
        raise HTTPException(
            status_code=403, detail=f"{who} may not; token=sk_live_abcdefghijklmnop12345"
        )

    @app.get("/structured")
    async def structured() -> None:
        raise HTTPException(status_code=409, detail={"reason": "conflict", "version": 3})

    @app.get("/teapot")
    async def teapot() -> PlainTextResponse:
        return PlainTextResponse("short and stout", status_code=418)

    @app.get("/not-fastapi-json")
    async def plain_json() -> JSONResponse:
        return JSONResponse({"error": "x"}, status_code=400)

    obs_fastapi.instrument_app(app)
    with Server(app) as running:
        yield running


def test_request_duration_metric(server: Server, obs_capture: Any) -> None:
    for path in ("/items/1", "/items/2", "/missing", "/boom"):
        httpx.get(f"{server.url}{path}")
    wait_for_spans(obs_capture, 4)
    points = obs_capture.metrics()["http.server.request.duration"]
    by_route = {
        (p.attributes.get("http.route"), p.attributes.get("http.response.status_code")): p
        for p in points
    }
    ok = by_route[("/items/{item_id}", 200)]
    assert ok.count == 2
    assert ok.attributes == {
        "http.request.method": "GET",
        "url.scheme": "http",
        "http.route": "/items/{item_id}",
        "http.response.status_code": 200,
        "network.protocol.version": "1.1",
    }
    assert list(ok.explicit_bounds)[:3] == [0.005, 0.01, 0.025]
    assert 0 < ok.sum < 10
    assert "error.type" not in by_route[("/missing", 404)].attributes  # 4xx is the client's
    failed = by_route[("/boom", 500)]
    assert failed.attributes["error.type"] == "tests.fastapi.conftest.Boom"
    # recorded inside the span: the exemplar points at the request's trace
    spans = {s.attributes.get("http.route"): s for s in obs_capture.spans}
    exemplar_traces = {e.trace_id for e in ok.exemplars}
    assert exemplar_traces <= {spans["/items/{item_id}"].context.trace_id} | {
        s.context.trace_id for s in obs_capture.spans
    }
    assert exemplar_traces


def test_http_exception_detail_is_recorded_and_scrubbed(server: Server, obs_capture: Any) -> None:
    response = httpx.get(f"{server.url}/denied/ada")
    assert response.status_code == 403
    assert "sk_live_" in response.text  # the client gets the app's answer unchanged
    httpx.get(f"{server.url}/structured")
    httpx.get(f"{server.url}/missing")
    spans = {s.name: s for s in wait_for_spans(obs_capture, 3)}
    denied = spans["GET /denied/{who}"].attributes
    assert denied["http.response.status_code"] == 403
    assert denied["fastapi.response.detail"].startswith("ada may not; token=")
    assert "sk_live_abcdefghijklmnop12345" not in denied["fastapi.response.detail"]
    assert spans["GET /missing"].attributes["fastapi.response.detail"] == "nope"
    assert spans["GET /structured"].attributes["fastapi.response.detail"] == (
        '{"reason": "conflict", "version": 3}'
    )
    assert spans["GET /missing"].status.is_unset  # a 4xx is not the server's failure


def test_no_detail_from_bodies_that_are_not_a_json_detail(server: Server, obs_capture: Any) -> None:
    httpx.get(f"{server.url}/teapot")
    httpx.get(f"{server.url}/not-fastapi-json")
    httpx.post(f"{server.url}/login", json={"user": "x", "password": 1})  # 422: opt-in only
    for span in wait_for_spans(obs_capture, 3):
        assert "fastapi.response.detail" not in span.attributes, span.name


def test_keep_native_metrics_records_the_metric_once(obs_capture: Any) -> None:
    app = FastAPI()

    @app.get("/x")
    async def x() -> dict[str, int]:
        return {"x": 1}

    obs_fastapi.instrument_app(app, keep_native_metrics=True)
    with Server(app) as running:
        httpx.get(f"{running.url}/x")
        wait_for_spans(obs_capture, 1)
    points = obs_capture.metrics()["http.server.request.duration"]
    assert sum(p.count for p in points) == 1
