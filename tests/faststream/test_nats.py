"""obs-faststream on a real NATS with JetStream (127.0.0.1:4222): subjects, RPC, pull batches."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from faststream.nats import JStream, NatsBroker, PullSub

import obs
from obs_faststream.nats import NatsTelemetryMiddleware
from tests.conftest import require_service
from tests.faststream.conftest import (
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
        # A pull batch waits out FastStream's 5 s fetch timeout when it holds fewer than
        # batch_size messages: on a loaded machine that alone nears the default 10 s budget.
        await wait(done, timeout=30)
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
