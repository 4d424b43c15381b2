"""A real uvicorn server on loopback: the wire, a client that leaves mid-stream."""

from __future__ import annotations

import socket
import time
from typing import Any

import httpx
import pytest
from opentelemetry.trace import StatusCode

import obs_fastapi
from tests.fastapi.conftest import Server, build_app


@pytest.fixture
def server(obs_capture: Any) -> Any:
    app = build_app()
    obs_fastapi.instrument_app(app)
    with Server(app) as running:
        yield running


def wait_for_spans(capture: Any, count: int) -> list[Any]:
    deadline = time.monotonic() + 10  # the server thread ends the span, not the test
    while time.monotonic() < deadline:
        if len(capture.spans) >= count:
            break
        time.sleep(0.01)
    return capture.spans


def test_request_over_loopback(server: Server, obs_capture: Any) -> None:
    response = httpx.get(f"{server.url}/v1/users/5/orders/o-1?q=1", headers={"user-agent": "wire"})
    assert response.json() == {"user_id": 5, "order_id": "o-1"}
    (span,) = wait_for_spans(obs_capture, 1)
    assert span.name == "GET /v1/users/{user_id}/orders/{order_id}"
    attrs = span.attributes
    assert attrs["server.address"] == "127.0.0.1"
    assert attrs["server.port"] == int(server.url.rsplit(":", 1)[1])
    assert attrs["client.address"] == "127.0.0.1"
    assert attrs["user_agent.original"] == "wire"
    assert attrs["http.response.status_code"] == 200


def test_exception_over_the_wire(server: Server, obs_capture: Any) -> None:
    response = httpx.get(f"{server.url}/boom")
    assert response.status_code == 500
    (span,) = wait_for_spans(obs_capture, 1)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "tests.fastapi.conftest.Boom"


def test_malformed_headers_over_the_wire(server: Server, obs_capture: Any) -> None:
    raw = (
        b"GET /items/9 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"traceparent: 00-xyz-\xff\xfe-01\r\nbaggage: ;;;=%zz\r\nConnection: close\r\n\r\n"
    )
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(raw)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 200")
    (span,) = wait_for_spans(obs_capture, 1)
    assert span.name == "GET /items/{item_id}"
    assert span.parent is None
    assert span.attributes["obs.propagation.malformed"] == ("traceparent",)


def test_client_disconnects_mid_stream(server: Server, obs_capture: Any) -> None:
    with httpx.stream("GET", f"{server.url}/slow-stream") as response:
        assert response.status_code == 200
        next(response.iter_bytes())  # one chunk, then hang up
    (span,) = wait_for_spans(obs_capture, 1)
    assert span.name == "GET /slow-stream"
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] in (
        "client_disconnected",
        "starlette.requests.ClientDisconnect",
    )
    assert span.attributes["http.response.status_code"] == 200
    assert len(obs_capture.spans) == 1  # ended exactly once
    # the server carries on
    assert httpx.get(f"{server.url}/items/1").status_code == 200
    assert len(wait_for_spans(obs_capture, 2)) == 2


def test_websocket_over_the_wire(server: Server, obs_capture: Any) -> None:
    from websockets.sync.client import connect

    with connect(server.url.replace("http", "ws") + "/ws/room1") as ws:
        ws.send("hi")
        assert ws.recv() == "room1: hi"
    (span,) = wait_for_spans(obs_capture, 1)
    assert span.name == "WS /ws/{room}"
    assert span.status.status_code is StatusCode.UNSET
