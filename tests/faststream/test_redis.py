"""obs-faststream on a real Redis (127.0.0.1:6379): channels, lists, batches, RPC, errors."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from faststream.redis import ListSub, RedisBroker
from opentelemetry.trace import StatusCode

import obs
from obs_faststream.redis import RedisTelemetryMiddleware
from tests.conftest import require_service
from tests.faststream.conftest import (
    assert_child,
    assert_links_to,
    settle,
    unique,
    wait,
)

URL = "redis://127.0.0.1:6379"


@pytest.fixture(autouse=True)
def _redis() -> None:
    require_service("redis")


def make_broker(*extra: Any) -> RedisBroker:
    return RedisBroker(URL, middlewares=[*extra, RedisTelemetryMiddleware()], logger=None)


async def test_send_and_process_attributes(obs_capture: Any) -> None:
    broker = make_broker()
    name = unique()
    got = asyncio.Event()

    @broker.subscriber(list=name)
    async def handle(body: dict[str, Any]) -> None:
        got.set()

    async with broker:
        await broker.start()
        await broker.publish({"order": 7}, list=name)
        await wait(got)
        await settle(obs_capture, f"process {name}")

    # parentage, kinds and links for every broker: test_brokers.py; here, the ids and sizes
    sent = obs_capture.one(f"send {name}").attributes or {}
    assert sent["messaging.operation.name"] == "send"
    assert sent["messaging.message.conversation_id"]
    processed = obs_capture.one(f"process {name}").attributes or {}
    assert processed["messaging.operation.type"] == "process"
    assert processed["messaging.destination.name"] == name
    assert (
        processed["messaging.message.conversation_id"] == sent["messaging.message.conversation_id"]
    )
    assert processed["messaging.message.id"]
    assert processed["messaging.message.body.size"] > 0
    assert "messaging.operation" not in processed  # the deprecated name is not written


async def test_publisher_output_continues_the_trace(obs_capture: Any) -> None:
    broker = make_broker()
    first, second = unique("in"), unique("out")
    done = asyncio.Event()

    @broker.subscriber(list=first)
    @broker.publisher(list=second)
    async def step(body: int) -> int:
        return body + 1

    @broker.subscriber(list=second)
    async def last(body: int) -> None:
        assert body == 2
        done.set()

    async with broker:
        await broker.start()
        await broker.publish(1, list=first)
        await wait(done)
        await settle(obs_capture, f"process {second}")

    assert obs_capture.tree() == [
        f"send {first}",
        f"  process {first}",
        f"    send {second}",
        f"      process {second}",
    ]


async def test_batch_links_every_message(obs_capture: Any) -> None:
    broker = make_broker()
    name = unique()
    got: list[Any] = []
    done = asyncio.Event()

    @broker.subscriber(list=ListSub(name, batch=True, max_records=10, polling_interval=0.01))
    async def handle(bodies: list[int]) -> None:
        got.extend(bodies)
        if len(got) >= 4:
            done.set()

    async with broker:
        await broker.connect()
        # Two separate sends (two traces), queued before the subscriber starts: one batch.
        await broker.publish_batch(1, 2, list=name)
        await broker.publish_batch(3, 4, list=name)
        await broker.start()
        await wait(done)
        await settle(obs_capture, f"process {name}")

    sends = obs_capture.find(f"send {name}")
    assert len(sends) == 2
    assert all((s.attributes or {})["messaging.batch.message_count"] == 2 for s in sends)
    processes = obs_capture.find(f"process {name}")
    assert sum((p.attributes or {})["messaging.batch.message_count"] for p in processes) == 4
    batch = max(processes, key=lambda p: len(p.links))
    if (batch.attributes or {})["messaging.batch.message_count"] == 4:
        # Messages from two traces: links to both, no parent taken from either.
        assert_links_to(batch, *sends)
        assert batch.parent is None


async def test_single_send_batch_joins_its_trace(obs_capture: Any) -> None:
    broker = make_broker()
    name = unique()
    done = asyncio.Event()

    @broker.subscriber(list=ListSub(name, batch=True, max_records=10, polling_interval=0.01))
    async def handle(bodies: list[int]) -> None:
        done.set()

    async with broker:
        await broker.connect()
        await broker.publish_batch(1, 2, 3, list=name)
        await broker.start()
        await wait(done)
        await settle(obs_capture, f"process {name}")

    send = obs_capture.one(f"send {name}")
    process = obs_capture.one(f"process {name}")
    assert (process.attributes or {})["messaging.batch.message_count"] == 3
    assert_child(obs_capture, process, send)
    assert_links_to(process, send)


async def test_flow_control_exceptions_are_not_errors(obs_capture: Any) -> None:
    from faststream.exceptions import AckMessage

    broker = make_broker()
    name = unique()

    @broker.subscriber(list=name)
    async def ack_early(body: str) -> None:
        raise AckMessage()

    async with broker:
        await broker.start()
        await broker.publish("x", list=name)
        await settle(obs_capture, f"process {name}")

    assert obs_capture.one(f"process {name}").status.status_code is not StatusCode.ERROR


@pytest.mark.parametrize(
    "headers",
    [
        {"traceparent": "not-a-traceparent"},
        {"traceparent": "00-00000000000000000000000000000000-0000000000000000-01"},
        {"traceparent": "00-" + "g" * 32 + "-" + "1" * 16 + "-01", "tracestate": "ü=ï"},
        {"baggage": "%%%;;;=="},
    ],
)
async def test_malformed_trace_headers(obs_capture: Any, headers: dict[str, Any]) -> None:
    """Publish without our middleware (a foreign producer), consume with it."""
    producer = RedisBroker(URL, logger=None)
    broker = make_broker()
    name = unique()
    got: list[Any] = []
    done = asyncio.Event()

    @broker.subscriber(list=name)
    async def handle(body: str) -> None:
        got.append(body)
        done.set()

    async with producer, broker:
        await broker.start()
        await producer.publish("payload", list=name, headers=headers)
        await wait(done)
        await settle(obs_capture, f"process {name}")

    assert got == ["payload"]
    process = obs_capture.one(f"process {name}")
    assert process.parent is None
    if "traceparent" in headers:
        assert (process.attributes or {}).get("obs.propagation.malformed")


@pytest.mark.parametrize(
    "payload",
    [
        b"\x00\xff\xfe binary \x80",
        b"{not json",
        "ünïcödé text",
        b"x" * (4 * 1024 * 1024),  # 4 MiB
    ],
    ids=["binary", "not-json", "unicode", "huge"],
)
async def test_odd_bodies_are_delivered(obs_capture: Any, payload: Any) -> None:
    broker = make_broker()
    name = unique()
    got: list[Any] = []
    done = asyncio.Event()

    @broker.subscriber(list=name)
    async def handle(msg: Any) -> None:
        got.append(msg)
        done.set()

    async with broker:
        await broker.start()
        await broker.publish(payload, list=name)
        await wait(done)
        await settle(obs_capture, f"process {name}")

    expected = payload.encode() if isinstance(payload, str) else payload
    received = got[0].encode() if isinstance(got[0], str) else got[0]
    assert received == expected
    size = (obs_capture.one(f"process {name}").attributes or {})["messaging.message.body.size"]
    assert size >= len(expected)


async def test_raw_message_without_headers(obs_capture: Any) -> None:
    """A message pushed by a plain Redis client (no FastStream envelope, no headers)."""
    from redis.asyncio import Redis

    broker = make_broker()
    name = unique()
    got: list[Any] = []
    done = asyncio.Event()

    @broker.subscriber(list=name)
    async def handle(body: Any) -> None:
        got.append(body)
        done.set()

    client = Redis.from_url(URL)
    async with broker:
        await broker.start()
        with obs.span("unrelated"):
            await client.rpush(name, b"plain \xff bytes")
        await wait(done)
        await settle(obs_capture, f"process {name}")
    await client.aclose()

    assert got
    process = obs_capture.one(f"process {name}")
    assert process.parent is None
    assert not process.links


async def test_pattern_subscription_names_the_pattern(obs_capture: Any) -> None:
    from faststream.redis import PubSub

    broker = make_broker()
    prefix = unique()
    done = asyncio.Event()

    @broker.subscriber(channel=PubSub(f"{prefix}.*", pattern=True))
    async def handle(body: str) -> None:
        done.set()

    async with broker:
        await broker.start()
        await broker.publish("x", channel=f"{prefix}.42")
        await wait(done)
        await settle(obs_capture, f"process {prefix}.*")

    process = obs_capture.one(f"process {prefix}.*")
    attributes = process.attributes or {}
    assert attributes["messaging.destination.name"] == f"{prefix}.42"
    assert attributes["messaging.destination.template"] == f"{prefix}.*"
