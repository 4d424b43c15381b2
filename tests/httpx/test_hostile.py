"""What a server or a URL from outside can throw at obs-httpx: a body cut mid-way, a status or
protocol line no one expects, URLs that are huge, odd or full of secrets. httpx answers and
raises exactly as it does uninstrumented; the span records what it could and always ends."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import httpx
import pytest
from opentelemetry.trace import StatusCode

import obs_httpx


class RawServer:
    """Answers every connection with fixed bytes, then closes: for answers no framework sends."""

    def __init__(self, answer: bytes) -> None:
        self.answer = answer
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                conn.sendall(self.answer)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def raw() -> Iterator[type[RawServer]]:
    servers: list[RawServer] = []

    def make(answer: bytes) -> RawServer:
        server = RawServer(answer)
        servers.append(server)
        return server

    yield make  # type: ignore[misc]
    for server in servers:
        server.close()


def both_ways(url: str) -> tuple[object, object]:
    """What httpx does for ``url`` uninstrumented, then instrumented: (result or exception)."""
    outcomes = []
    for on in (False, True):
        if on:
            obs_httpx.instrument_httpx()
        try:
            response = httpx.get(url, timeout=5)
            outcomes.append((response.status_code, response.content))
        except Exception as exc:
            outcomes.append((type(exc), str(exc)))
        finally:
            obs_httpx.uninstrument_httpx()
    return outcomes[0], outcomes[1]


def test_body_cut_mid_way_raises_the_same_and_ends_the_span(obs_capture, raw):
    obs_capture.configure()
    server = raw(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nonly a few bytes")
    plain, traced = both_ways(f"http://127.0.0.1:{server.port}/")
    assert plain == traced
    assert traced[0] is httpx.RemoteProtocolError
    [span] = obs_capture.find("GET")
    assert span.attributes["http.response.status_code"] == 200  # the headers had arrived
    assert span.attributes["error.type"] == "httpx.RemoteProtocolError"
    assert span.status.status_code is StatusCode.ERROR


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        (b"HTTP/1.1 599 Whatever\r\nContent-Length: 2\r\n\r\nno", 599),
        (b"HTTP/1.0 204 No Content\r\n\r\n", 204),
    ],
)
def test_unusual_answers(obs_capture, raw, answer, code):
    obs_capture.configure()
    server = raw(answer)
    plain, traced = both_ways(f"http://127.0.0.1:{server.port}/")
    assert plain == traced
    [span] = obs_capture.find("GET")
    assert span.attributes["http.response.status_code"] == code
    assert span.attributes["network.protocol.version"] in ("1.0", "1.1")


def test_garbage_instead_of_http(obs_capture, raw):
    obs_capture.configure()
    server = raw(b"\x00\xff not http at all\r\n\r\n")
    plain, traced = both_ways(f"http://127.0.0.1:{server.port}/")
    assert plain == traced
    [span] = obs_capture.find("GET")
    assert span.status.status_code is StatusCode.ERROR


@pytest.mark.parametrize(
    "path",
    [
        "/" + "a" * 20_000,  # a huge path: bounded like every attribute
        "/caf%C3%A9/%00/%E2%80%AE?q=%FF%FE&&=&x==y&token",  # odd encodings, empty and bare parts
        "/search?" + "&".join(f"p{i}={i}" for i in range(2_000)),  # a huge query
    ],
)
def test_odd_urls(obs_capture, raw, path):
    obs_capture.configure()
    server = raw(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    plain, traced = both_ways(f"http://127.0.0.1:{server.port}{path}")
    assert plain == traced == (200, b"ok")
    [span] = obs_capture.find("GET")
    assert len(span.attributes["url.full"]) <= 8192


def test_secret_in_a_query_never_leaves(obs_capture, raw):
    obs_capture.configure()
    server = raw(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    secret = "sk-live-0123456789abcdefghijkl"
    both_ways(
        f"http://u:{secret}@127.0.0.1:{server.port}/x?access_token={secret}&Signature={secret}"
    )
    [span] = obs_capture.find("GET")
    assert secret not in str(dict(span.attributes))
