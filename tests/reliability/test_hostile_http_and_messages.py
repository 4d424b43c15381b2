"""Hostile trace headers on the wire: arbitrary bytes as traceparent/tracestate/baggage.

An HTTP request or a message carrying garbage in its propagation headers must be handled
exactly as without obs: same response, same handler input, no exception. The server span still
starts (a new trace when the header is unusable) and flags malformed headers.

Each property compares an instrumented run with an uninstrumented twin of the same app.
"""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from faststream._internal.middlewares import BaseMiddleware
from faststream.redis import RedisBroker, RedisMessage, TestRedisBroker
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.trace import SpanKind

import obs_fastapi
from obs._attributes import MAX_STRING_LENGTH
from obs_faststream.redis import RedisTelemetryMiddleware
from tests.conftest import require_service
from tests.fastapi.conftest import Server

PROPAGATION = ("traceparent", "tracestate", "baggage")
# Bytes an HTTP/1.1 server accepts in a header value (no CR, LF, NUL or other controls).
WIRE_BYTES = st.binary(max_size=300).map(
    lambda b: bytes(c for c in b if c == 0x09 or 0x20 <= c != 0x7F).strip(b" \t")
)
#: Strings made of arbitrary bytes (latin-1 maps every byte to one character) or any text.
HEADER_TEXT = st.one_of(
    st.binary(max_size=300).map(lambda b: b.decode("latin-1")), st.text(max_size=300)
)
VALID_TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
# Variations on a valid header: the parser's edge cases are near valid input, not far from it.
NEAR_VALID = st.one_of(
    st.just(VALID_TRACEPARENT),
    st.builds(
        lambda i, c: VALID_TRACEPARENT[:i] + c + VALID_TRACEPARENT[i + 1 :],
        st.integers(0, len(VALID_TRACEPARENT) - 1),
        st.characters(),
    ),
    st.builds(lambda a, b: a + VALID_TRACEPARENT + b, st.text(max_size=5), st.text(max_size=5)),
)
fuzz = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# -- HTTP ---------------------------------------------------------------------------------
def echo_app(plain: bool = False) -> FastAPI:
    """Answers with what it received, so any change obs made would show in the response.

    ``plain``: FastAPI's own native telemetry off too, so the twin runs with no tracing at all.
    """
    app = FastAPI(telemetry={"tracing": False, "metrics": False, "logs": False} if plain else None)

    @app.api_route("/echo/{item}", methods=["GET", "POST"])
    async def echo(item: str, request: Request) -> dict[str, Any]:
        body = await request.body()
        return {
            "item": item,
            "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in request.headers.raw],
            "query": request.url.query,
            "body": body.decode("latin-1"),
        }

    return app


def asgi_call(app: Any, headers: list[tuple[bytes, bytes]]) -> tuple[int, bytes]:
    """One request straight into the ASGI app: the raw header bytes reach the middleware as
    they are (no client library normalises or refuses them)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/echo/x",
        "raw_path": b"/echo/x",
        "query_string": b"q=1",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("203.0.113.7", 51000),
        "server": ("testserver", 80),
    }
    sent: list[dict[str, Any]] = []
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": b"payload", "more_body": False}
        await asyncio.sleep(3600)  # never disconnects during the request
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(asyncio.wait_for(app(scope, receive, send), 10))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body


@pytest.fixture
def apps(obs_capture: Any) -> tuple[FastAPI, FastAPI]:
    plain, instrumented = echo_app(plain=True), echo_app()
    obs_fastapi.instrument_app(instrumented)
    return plain, instrumented


def check_server_span(capture: Any) -> None:
    (span,) = capture.spans
    assert span.kind is SpanKind.SERVER
    assert span.name == "POST /echo/{item}"
    assert span.end_time is not None


@fuzz
@given(
    traceparent=st.one_of(st.binary(max_size=300), NEAR_VALID.map(str.encode)),
    tracestate=st.binary(max_size=300),
    baggage=st.binary(max_size=600),
    repeat=st.booleans(),
)
def test_http_propagation_headers_of_arbitrary_bytes(
    apps, obs_capture, traceparent, tracestate, baggage, repeat
):
    plain, instrumented = apps
    headers = [(b"traceparent", traceparent), (b"tracestate", tracestate), (b"baggage", baggage)]
    if repeat:  # the same header twice, as proxies sometimes send
        headers = headers + headers
    obs_capture.clear()
    assert asgi_call(instrumented, headers) == asgi_call(plain, headers)
    check_server_span(obs_capture)


@fuzz
@given(
    traceparent=st.one_of(HEADER_TEXT, NEAR_VALID),
    tracestate=HEADER_TEXT,
    baggage=HEADER_TEXT,
    policy=st.sampled_from(["trust", "link", "ignore"]),
)
def test_http_headers_through_httpx_under_every_policy(
    obs_capture, traceparent, tracestate, baggage, policy
):
    obs_capture.configure(propagation=policy)
    plain, instrumented = echo_app(plain=True), echo_app()
    obs_fastapi.instrument_app(instrumented)
    headers = {"traceparent": traceparent, "tracestate": tracestate, "baggage": baggage}

    async def call(app: Any) -> tuple[str, Any]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            try:
                response = await client.post("/echo/y?q=2", headers=headers, content=b"{}")
            except Exception as exc:  # httpx refuses some values: it must refuse them alike
                return "refused", type(exc)
            return str(response.status_code), response.json()

    obs_capture.clear()
    expected = asyncio.run(call(plain))
    assert asyncio.run(call(instrumented)) == expected
    if expected[0] != "refused":
        check_server_span(obs_capture)


@fuzz
@given(traceparent=WIRE_BYTES, tracestate=WIRE_BYTES, baggage=WIRE_BYTES)
def test_http_headers_over_a_real_socket(
    uvicorn_pair, obs_capture, traceparent, tracestate, baggage
):
    plain, instrumented = uvicorn_pair
    headers = b"".join(
        name.encode() + b": " + value + b"\r\n"
        for name, value in zip(PROPAGATION, (traceparent, tracestate, baggage), strict=True)
    )
    request = (
        b"POST /echo/z HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n"
        + headers
        + b"Connection: close\r\n\r\n{}"
    )
    obs_capture.clear()
    expected = raw_http(plain, request)
    got = raw_http(instrumented, request)
    assert got == expected
    if expected[0] == 200:
        # the span ends in the server thread after the last body byte was sent
        wait_for(lambda: len(obs_capture.spans) == 1)
        check_server_span(obs_capture)


@pytest.fixture(scope="module")
def uvicorn_pair() -> Any:
    plain, instrumented = echo_app(plain=True), echo_app()
    obs_fastapi.instrument_app(instrumented)
    with Server(plain) as a, Server(instrumented) as b:
        yield a, b


def raw_http(server: Server, request: bytes) -> tuple[int, Any]:
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body) if status == 200 else body


def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


# -- messages -----------------------------------------------------------------------------
class ConsumeOnly:
    """obs's Redis middleware on the consuming side only.

    A traced publish replaces ``traceparent`` with its own (that is its job), so the hostile
    headers would never reach a consumer; here the publish passes through untraced and the
    consumer sees exactly what was published.
    """

    def __init__(self) -> None:
        self.inner = RedisTelemetryMiddleware()

    def __call__(self, msg: Any, /, *, context: Any) -> BaseMiddleware[Any, Any]:
        if msg is None:
            return BaseMiddleware(msg, context=context)
        return self.inner(msg, context=context)


def consuming_broker(instrumented: bool, received: list[Any], channel: str) -> RedisBroker:
    broker = RedisBroker(middlewares=[ConsumeOnly()] if instrumented else [], logger=None)

    @broker.subscriber(channel)
    async def handle(body: Any, msg: RedisMessage) -> Any:
        received.append((body, dict(msg.headers)))
        return {"got": body}

    return broker


async def in_memory_run(
    instrumented: bool, headers: dict[str, str], body: Any, correlation_id: str = "fixed"
) -> Any:
    received: list[Any] = []
    channel = "hostile"
    broker = consuming_broker(instrumented, received, channel)
    try:
        async with TestRedisBroker(broker) as test_broker:
            await test_broker.publish(
                body, channel=channel, headers=headers, correlation_id=correlation_id
            )
    except Exception as exc:  # the host's own refusal (unencodable text): must be the same
        return ("raised", type(exc).__name__)
    return ("ok", received)


@fuzz
@given(
    traceparent=st.one_of(HEADER_TEXT, NEAR_VALID),
    tracestate=HEADER_TEXT,
    baggage=HEADER_TEXT,
    body=st.one_of(st.binary(max_size=200), st.text(max_size=200), st.just({"order": 7})),
)
def test_message_headers_in_memory(obs_capture, traceparent, tracestate, baggage, body):
    headers = {"traceparent": traceparent, "tracestate": tracestate, "baggage": baggage}
    expected = asyncio.run(in_memory_run(False, headers, body))
    obs_capture.clear()
    got = asyncio.run(in_memory_run(True, headers, body))
    assert got == expected
    assert expected[0] == "raised" or len(expected[1]) == 1, "the handler ran"
    if expected[0] == "ok":
        (span,) = obs_capture.find("process hostile")
        assert span.kind is SpanKind.CONSUMER


def recorder(received: list[Any], got: asyncio.Event) -> Any:
    async def handle(body: Any, msg: RedisMessage) -> None:
        received.append((body, {k: msg.headers.get(k) for k in PROPAGATION}))
        got.set()

    return handle


@pytest.mark.parametrize(
    "headers",
    [
        # ASCII only: FastStream's binary Redis format counts header lengths in characters, so
        # a non-ASCII header value makes the message unreadable with or without obs.
        {"traceparent": "\x01\x00\n\r\x7f" * 50, "tracestate": "=,=,,", "baggage": "%zz;;=" * 400},
        {"traceparent": "00-" + "f" * 32 + "-" + "0" * 16 + "-01", "baggage": "k=" + "v" * 9000},
        {"traceparent": VALID_TRACEPARENT, "tracestate": "a=" + "\x7f" * 300, "baggage": "\x00"},
    ],
    ids=["garbage", "zero-span-id-huge-baggage", "valid-parent-odd-state"],
)
async def test_message_headers_through_real_redis(obs_capture, headers):
    require_service("redis")
    outcomes = []
    for instrumented in (False, True):
        received: list[Any] = []
        got = asyncio.Event()
        channel = f"obs-hostile-{uuid.uuid4().hex[:8]}"
        consumer = RedisBroker("redis://127.0.0.1:6379", logger=None)
        if instrumented:
            consumer.add_middleware(ConsumeOnly())
        consumer.subscriber(list=channel)(recorder(received, got))
        producer = RedisBroker("redis://127.0.0.1:6379", logger=None)  # untraced: see ConsumeOnly
        async with consumer, producer:
            await consumer.start()
            await producer.publish(
                {"order": 1}, list=channel, headers=headers, correlation_id="fixed"
            )
            await asyncio.wait_for(got.wait(), 10)
        outcomes.append(received)
    assert outcomes[0] == outcomes[1]
    assert outcomes[1][0][1] == {k: headers.get(k) for k in PROPAGATION}

    async def settled() -> None:
        while not obs_capture.find(name=None, **{"messaging.operation.type": "process"}):  # noqa: ASYNC110
            await asyncio.sleep(0.01)

    await asyncio.wait_for(settled(), 10)
    (span,) = obs_capture.find(None, **{"messaging.operation.type": "process"})
    assert span.end_time is not None


# -- size limits on what a client controls ------------------------------------------------
# Values an integration copies from the request or message (path, query, user agent,
# correlation id) are bounded like every attribute: a hostile client cannot make each span
# (and each export) carry tens of kB.
def long_strings(span: Any) -> dict[str, int]:
    return {
        key: len(value)
        for key, value in (span.attributes or {}).items()
        if isinstance(value, str) and len(value) > MAX_STRING_LENGTH + 40
    }


def test_huge_path_query_and_user_agent_are_cut(apps, obs_capture):
    plain, instrumented = apps

    async def call(app: Any) -> tuple[int, Any]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get(
                "/echo/" + "p" * 20_000 + "?q=" + "x" * 40_000,
                headers={"user-agent": "u" * 70_000},
            )
            return response.status_code, response.json()

    assert asyncio.run(call(instrumented)) == asyncio.run(call(plain))
    (span,) = obs_capture.spans
    assert long_strings(span) == {}


def test_huge_correlation_id_is_cut(obs_capture):
    huge = "c" * 50_000
    expected = asyncio.run(in_memory_run(False, {}, "x", huge))
    got = asyncio.run(in_memory_run(True, {}, "x", huge))
    assert got == expected
    (span,) = obs_capture.find("process hostile")
    assert long_strings(span) == {}
