"""obs-faststream on a real NATS with JetStream (127.0.0.1:4222): subjects, RPC, pull batches."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from faststream.nats import JStream, NatsBroker, PullSub
from opentelemetry.trace import SpanKind

import obs
from obs_faststream.nats import NatsTelemetryMiddleware
from tests.conftest import require_service
from tests.faststream.conftest import (
    Spy,
    assert_child,
    assert_links_to,
    assert_process_failed,
    settle,
    unique,
    wait,
)

URL = "nats://127.0.0.1:4222"


@pytest.fixture(autouse=True)
def _nats() -> None:
    require_service("nats")


def make_broker(*extra: Any) -> NatsBroker:
    return NatsBroker(URL, middlewares=[*extra, NatsTelemetryMiddleware()], logger=None)


async def test_consumer_joins_the_producers_trace(obs_capture: Any) -> None:
    broker = make_broker()
    subject = unique()
    got = asyncio.Event()

    @broker.subscriber(subject)
    async def handle(body: str) -> None:
        with obs.span("work"):
            pass
        got.set()

    async with broker:
        await broker.start()
        with obs.span("request", _kind=SpanKind.SERVER):
            await broker.publish("hello", subject)
        await wait(got)
        await settle(obs_capture, f"process {subject}")

    assert obs_capture.tree() == [
        "request",
        f"  send {subject}",
        f"    process {subject}",
        "      work",
    ]
    assert_links_to(obs_capture.one(f"process {subject}"), obs_capture.one(f"send {subject}"))
    assert (obs_capture.one(f"send {subject}").attributes or {})["messaging.system"] == "nats"


async def test_rpc_keeps_one_trace(obs_capture: Any) -> None:
    broker = make_broker()
    subject = unique()

    @broker.subscriber(subject)
    async def upper(body: str) -> str:
        return body.upper()

    async with broker:
        await broker.start()
        with obs.span("caller"):
            response = await asyncio.wait_for(broker.request("ping", subject), 10)
        await settle(obs_capture, f"process {subject}")
    assert await response.decode() == "PING"

    request = obs_capture.one(f"send {subject}")
    process = obs_capture.one(f"process {subject}")
    assert_child(obs_capture, request, obs_capture.one("caller"))
    assert_child(obs_capture, process, request)
    assert [s.kind for s in obs_capture.children(process)] == [SpanKind.PRODUCER]
    assert len(obs_capture.traces()) == 1


async def test_jetstream_pull_batch_links_every_message(obs_capture: Any) -> None:
    broker = make_broker()
    subject = unique()
    stream = JStream(unique("stream"), subjects=[subject])
    got: list[str] = []
    done = asyncio.Event()

    @broker.subscriber(subject, stream=stream, pull_sub=PullSub(batch_size=10, batch=True))
    async def handle(bodies: list[str]) -> None:
        got.extend(bodies)
        if len(got) >= 3:
            done.set()

    async with broker:
        await broker.connect()
        js = broker._connection.jetstream()  # type: ignore[union-attr]
        await js.add_stream(name=stream.name, subjects=[subject])
        for n in range(3):
            with obs.span(f"producer {n}"):
                await broker.publish(str(n), subject, stream=stream.name)
        await broker.start()
        await wait(done)
        await settle(obs_capture, f"process {subject}")
        await js.delete_stream(stream.name)

    sends = obs_capture.find(f"send {subject}")
    processes = obs_capture.find(f"process {subject}")
    assert len(sends) == 3
    assert sum((p.attributes or {})["messaging.batch.message_count"] for p in processes) == 3
    for process in processes:
        assert process.links
    everything = [link.context.span_id for p in processes for link in p.links]
    assert sorted(everything) == sorted(s.context.span_id for s in sends)


async def test_handler_error(obs_capture: Any) -> None:
    spy = Spy()
    broker = make_broker(spy)
    subject = unique()
    raised: list[BaseException] = []

    @broker.subscriber(subject)
    async def boom(body: str) -> None:
        exc = KeyError("missing")
        raised.append(exc)
        raise exc

    async with broker:
        await broker.start()
        await broker.publish("x", subject)
        await settle(obs_capture, f"process {subject}")

    assert_process_failed(obs_capture.one(f"process {subject}"), "KeyError")
    assert spy.errors == raised
    assert spy.contexts_ok == [True]


async def test_foreign_message_with_bad_header(obs_capture: Any) -> None:
    """A plain nats-py client sends a binary payload with a broken traceparent."""
    import nats

    broker = make_broker()
    subject = unique()
    got: list[Any] = []
    done = asyncio.Event()

    @broker.subscriber(subject)
    async def handle(body: bytes) -> None:
        got.append(body)
        done.set()

    client = await nats.connect(URL)
    async with broker:
        await broker.start()
        # Core NATS keeps nothing and the subscription may still be on its way to the
        # server: resend until one delivery arrived (bounded).
        for _ in range(50):
            await client.publish(subject, b"\xff\x00raw", headers={"traceparent": "00-zz"})
            await client.flush()
            try:
                await asyncio.wait_for(done.wait(), 0.2)
                break
            except asyncio.TimeoutError:
                continue
        await wait(done)
        await settle(obs_capture, f"process {subject}")
    await client.close()

    assert got[0] == b"\xff\x00raw"
    process = obs_capture.find(f"process {subject}")[0]
    assert process.parent is None
    assert (process.attributes or {})["obs.propagation.malformed"]
