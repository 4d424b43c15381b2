"""WebSocket connections: one span per connection, normal closes are not errors."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from opentelemetry.trace import SpanKind, StatusCode
from starlette.websockets import WebSocketDisconnect

import obs_fastapi
from tests.fastapi.conftest import Boom, build_app


@pytest.fixture
def app(obs_capture: Any) -> Any:
    app = build_app()
    obs_fastapi.instrument_app(app)
    return app


def test_websocket_span(app: Any, obs_capture: Any) -> None:
    with TestClient(app) as c, c.websocket_connect("/ws/lobby") as ws:
        ws.send_text("hello")
        assert ws.receive_text() == "lobby: hello"
    (span,) = obs_capture.spans
    assert span.kind is SpanKind.SERVER
    assert span.name == "WS /ws/{room}"
    assert span.attributes["http.route"] == "/ws/{room}"
    assert span.attributes["network.protocol.name"] == "websocket"
    assert span.attributes["url.scheme"] == "ws"
    assert span.attributes["url.path"] == "/ws/lobby"
    assert span.status.status_code is StatusCode.UNSET


def test_websocket_handler_raises(app: Any, obs_capture: Any) -> None:
    def converse() -> None:
        with TestClient(app) as c, c.websocket_connect("/ws/lobby") as ws:
            ws.send_text("boom")
            ws.receive_text()

    with pytest.raises(Boom):
        converse()
    (span,) = obs_capture.spans
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "tests.fastapi.conftest.Boom"


def test_websocket_client_leaves(app: Any, obs_capture: Any) -> None:
    # the handler does not catch the disconnect: it escapes the app, with or without obs
    def leave() -> None:
        with TestClient(app) as c, c.websocket_connect("/ws/lobby") as ws:
            ws.close(1000)

    with pytest.raises(WebSocketDisconnect):
        leave()
    (span,) = obs_capture.spans
    assert span.name == "WS /ws/{room}"
    assert span.status.status_code is StatusCode.UNSET


def test_websocket_with_operation_spans(obs_capture: Any) -> None:
    app = build_app()
    obs_fastapi.instrument_app(app, operation_spans=True)
    with TestClient(app) as c, c.websocket_connect("/ws/x") as ws:
        ws.send_text("hi")
        ws.receive_text()
    assert obs_capture.tree()[0] == "WS /ws/{room}"
    assert len([s for s in obs_capture.spans if s.kind is SpanKind.SERVER]) == 1
