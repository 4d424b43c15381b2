"""Faults upstream of the instrumented code: the spans end with the error, and the host's own
recovery proceeds exactly as without obs.

- Redis kills the consumer's connection while a handler runs: FastStream logs the fetch
  error, reconnects and keeps consuming; every message is processed as without obs, and each
  ``process`` span ends, with the right parent.
- The OpenAI server breaks a streamed answer off mid-way, or refuses the connection: the client
  raises what it raises without obs, after the same chunks; the span records the error.
- A Burr streaming action raises mid-stream: the consumer gets the same items and the same
  exception; the step and call spans end with the error; no span is left current.

Each scenario is run twice, uninstrumented then instrumented, and the outcomes compared.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncGenerator, Generator
from typing import Any

import openai
import pytest
import redis.asyncio as aioredis
from burr.core import ApplicationBuilder, State
from burr.core.action import streaming_action
from faststream.redis import RedisBroker, StreamSub
from opentelemetry.trace import SpanKind, StatusCode, get_current_span

import obs
from obs_openai.testing import StandInServer
from tests.conftest import require_service

URL = "redis://127.0.0.1:6379"
TIMEOUT = 20.0


def error_span(span: Any, error_type: str | None = None) -> None:
    assert span.end_time is not None, span.name
    assert span.status.status_code is StatusCode.ERROR, (span.name, span.status)
    if error_type is not None:
        assert span.attributes["error.type"] == error_type, dict(span.attributes)


# -- Redis: the consumer's connection is killed mid-consume --------------------------------
@pytest.fixture
def fast_reconnect(monkeypatch: pytest.MonkeyPatch) -> None:
    # FastStream waits 5 s before fetching again after an error; the behaviour is the same
    # with a shorter wait, and CI does not wait for nothing.
    from faststream.redis.subscriber.usecases import basic

    monkeypatch.setattr(basic, "CONSUME_ERROR_BACKOFF_SECONDS", 0.2)


async def kill_clients(name: str) -> int:
    """CLIENT KILL every connection named ``name`` (only this test's consumer)."""
    admin = aioredis.Redis.from_url(URL)
    try:
        killed = 0
        for client in await admin.client_list():
            if client.get("name") == name:
                killed += int(await admin.client_kill_filter(_id=client["id"]))
        return killed
    finally:
        await admin.aclose()


async def consume_through_a_kill(kind: str, instrumented: bool) -> list[int]:
    """Publish 1 (its handler is held while the consumer's connection is killed), then 2..4."""
    name = f"obs-rel-{uuid.uuid4().hex[:8]}"
    received: list[int] = []
    holding = asyncio.Event()
    release = asyncio.Event()
    consumer = RedisBroker(URL, client_name=name, logger=None)
    producer = RedisBroker(URL, logger=None)  # a connection of its own: only the consumer dies
    # the integration is on for brokers created in the instrumented run only
    traced = any("Telemetry" in type(m).__name__ for m in consumer.middlewares)
    assert traced is instrumented
    target: dict[str, Any] = (
        {"stream": StreamSub(name, group="g", consumer="c1")}
        if kind == "stream"
        else {"list": name}
    )

    @consumer.subscriber(**target)
    async def handle(body: int) -> None:
        received.append(body)
        if body == 1:
            holding.set()
            await release.wait()

    publish_target = {"stream": name} if kind == "stream" else {"list": name}
    async with consumer, producer:
        await consumer.start()
        with obs.span("producer"):
            await producer.publish(1, **publish_target)
        await asyncio.wait_for(holding.wait(), TIMEOUT)
        assert await kill_clients(name) >= 1
        release.set()
        for n in (2, 3, 4):
            with obs.span("producer"):
                await producer.publish(n, **publish_target)

        async def all_in() -> None:
            while len(received) < 4:  # noqa: ASYNC110
                await asyncio.sleep(0.02)

        await asyncio.wait_for(all_in(), TIMEOUT)
    return received


@pytest.mark.parametrize("kind", ["list", "stream"])
async def test_redis_connection_killed_mid_consume(kind, fast_reconnect, obs_capture):
    require_service("redis")
    expected = await consume_through_a_kill(kind, instrumented=False)
    obs_capture.configure(instrument=["faststream"])
    obs_capture.clear()
    got = await consume_through_a_kill(kind, instrumented=True)
    assert got == expected == [1, 2, 3, 4]

    def processes() -> list[Any]:
        return obs_capture.find(None, **{"messaging.operation.type": "process"})

    async def settled() -> None:
        while len(processes()) < 4:  # noqa: ASYNC110
            await asyncio.sleep(0.01)

    await asyncio.wait_for(settled(), TIMEOUT)
    processes = processes()
    assert len(processes) == 4
    for span in processes:
        assert span.kind is SpanKind.CONSUMER
        assert span.end_time is not None
        send = obs_capture.parent(span)
        assert send is not None, "parent: its own send span"
        assert send.kind is SpanKind.PRODUCER
        assert obs_capture.parent(send).name == "producer"
    # one trace per published message: nothing crossed over after the reconnect
    assert len({s.context.trace_id for s in processes}) == 4
    assert not get_current_span().get_span_context().is_valid


# -- OpenAI: a stream broken off mid-way, a refused connection -----------------------------
def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def read_stream(client: openai.OpenAI) -> tuple[list[str], str | None]:
    """The chunks read and the exception class that ended the stream (None: it completed)."""
    chunks: list[str] = []
    try:
        stream = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "hello"}],
            stream=True,
            extra_headers={"x-stand-in-chunks": "12", "x-stand-in-cut-after": "4"},
        )
        for chunk in stream:
            if chunk.choices:
                chunks.append(chunk.choices[0].delta.content or "")
    except Exception as exc:
        return chunks, type(exc).__qualname__
    return chunks, None


async def aread_stream(client: openai.AsyncOpenAI) -> tuple[list[str], str | None]:
    chunks: list[str] = []
    try:
        stream = await client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "hello"}],
            stream=True,
            extra_headers={"x-stand-in-chunks": "12", "x-stand-in-cut-after": "4"},
        )
        async for chunk in stream:
            if chunk.choices:
                chunks.append(chunk.choices[0].delta.content or "")
    except Exception as exc:
        return chunks, type(exc).__qualname__
    return chunks, None


def test_openai_stream_cut_mid_way(obs_capture):
    with StandInServer() as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0)
        expected = read_stream(client)
        obs_capture.configure(instrument=["openai"])
        obs_capture.clear()
        got = read_stream(client)
    assert expected[1] is not None, "the cut reached the client as an error"
    assert got == expected
    span = obs_capture.one("chat gpt-4o-mini")
    error_span(span)
    assert span.kind is SpanKind.CLIENT
    assert not get_current_span().get_span_context().is_valid


async def test_openai_async_stream_cut_mid_way(obs_capture):
    with StandInServer() as server:
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0)
        expected = await aread_stream(client)
        obs_capture.configure(instrument=["openai"])
        obs_capture.clear()
        got = await aread_stream(client)
    assert expected[1] is not None
    assert got == expected
    error_span(obs_capture.one("chat gpt-4o-mini"))


def test_openai_connection_refused(obs_capture):
    client = openai.OpenAI(
        base_url=f"http://127.0.0.1:{closed_port()}/v1", api_key="sk-test", max_retries=1
    )

    def call() -> str:
        with pytest.raises(openai.APIConnectionError) as info:
            client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
            )
        return type(info.value).__qualname__

    expected = call()
    obs_capture.configure(instrument=["openai"])
    obs_capture.clear()
    assert call() == expected == "APIConnectionError"
    span = obs_capture.one("chat gpt-4o-mini")  # the client's retry happens inside one span
    error_span(span, "openai.APIConnectionError")


# -- Burr: a streaming action raises mid-stream ---------------------------------------------
class StreamBroke(RuntimeError):
    """What the streaming actions raise after a few items."""


@streaming_action(reads=[], writes=["text"])
def talk(state: State) -> Generator[tuple[dict[str, Any], State | None], None, None]:
    for i in range(3):
        yield {"word": f"w{i}"}, None
    raise StreamBroke("model connection lost after 3 tokens")


@streaming_action(reads=[], writes=["text"])
async def atalk(state: State) -> AsyncGenerator[tuple[dict[str, Any], State | None], None]:
    for i in range(3):
        await asyncio.sleep(0)
        yield {"word": f"w{i}"}, None
    raise StreamBroke("model connection lost after 3 tokens")


def burr_app(action: Any) -> Any:
    return (
        ApplicationBuilder()
        .with_actions(talk=action)
        .with_transitions()
        .with_entrypoint("talk")
        .with_state(text="")
        .with_identifiers(app_id="stream-fault")
        .build()
    )


def consume(app: Any) -> tuple[list[str], str | None]:
    words: list[str] = []
    try:
        _, container = app.stream_result(halt_after=["talk"])
        for item in container:
            words.append(item["word"])
        container.get()
    except StreamBroke as exc:
        return words, str(exc)
    return words, None


async def aconsume(app: Any) -> tuple[list[str], str | None]:
    words: list[str] = []
    try:
        _, container = await app.astream_result(halt_after=["talk"])
        async for item in container:
            words.append(item["word"])
        await container.get()
    except StreamBroke as exc:
        return words, str(exc)
    return words, None


def check_burr_spans(capture: Any) -> None:
    step = capture.one("step talk")
    error_span(step, "tests.reliability.test_upstream_faults.StreamBroke")
    assert any(e.name == "exception" for e in step.events)
    (call,) = [s for s in capture.spans if s.name == "invoke_workflow"]
    assert call.attributes["burr.app_id"] == "stream-fault"
    error_span(call)
    assert capture.parent(step) is call
    assert not get_current_span().get_span_context().is_valid


def test_burr_streaming_action_raises_mid_stream(obs_capture, capsys):
    expected = consume(burr_app(talk))
    obs.instrument("burr")
    obs_capture.clear()
    got = consume(burr_app(talk))
    assert got == expected == (["w0", "w1", "w2"], "model connection lost after 3 tokens")
    check_burr_spans(obs_capture)


async def test_burr_async_streaming_action_raises_mid_stream(obs_capture, capsys):
    expected = await aconsume(burr_app(atalk))
    obs.instrument("burr")
    obs_capture.clear()
    got = await aconsume(burr_app(atalk))
    assert got == expected == (["w0", "w1", "w2"], "model connection lost after 3 tokens")
    check_burr_spans(obs_capture)
