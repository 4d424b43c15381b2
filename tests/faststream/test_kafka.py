"""obs-faststream on Kafka (aiokafka) and Confluent, through FastStream's in-memory test brokers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from opentelemetry.trace import SpanKind

import obs
from tests.faststream.conftest import assert_child, assert_links_to, assert_process_failed, unique


def _kafka() -> tuple[Any, Any, Any]:
    from faststream.kafka import KafkaBroker, TestKafkaBroker

    from obs_faststream.kafka import KafkaTelemetryMiddleware

    return KafkaBroker, TestKafkaBroker, KafkaTelemetryMiddleware


def _confluent() -> tuple[Any, Any, Any]:
    from faststream.confluent import KafkaBroker, TestKafkaBroker

    from obs_faststream.confluent import KafkaTelemetryMiddleware

    return KafkaBroker, TestKafkaBroker, KafkaTelemetryMiddleware


@pytest.fixture(params=[_kafka, _confluent], ids=["aiokafka", "confluent"])
def kit(request: pytest.FixtureRequest) -> tuple[Any, Any, Any]:
    factory: Callable[[], tuple[Any, Any, Any]] = request.param
    return factory()


async def test_consumer_joins_the_producers_trace(obs_capture: Any, kit: Any) -> None:
    broker_cls, test_broker, middleware = kit
    broker = broker_cls(middlewares=[middleware()])
    topic = unique()
    got: list[Any] = []

    @broker.subscriber(topic)
    async def handle(body: dict[str, Any]) -> None:
        got.append(body)

    async with test_broker(broker):
        with obs.span("request", _kind=SpanKind.SERVER):
            await broker.publish({"n": 1}, topic, key=b"order-1", partition=0)

    assert got == [{"n": 1}]
    assert obs_capture.tree() == ["request", f"  send {topic}", f"    process {topic}"]
    send = obs_capture.one(f"send {topic}")
    process = obs_capture.one(f"process {topic}")
    assert_links_to(process, send)
    sent = send.attributes or {}
    assert sent["messaging.system"] == "kafka"
    assert sent["messaging.kafka.message.key"] == "order-1"
    assert sent["messaging.destination.partition.id"] == "0"
    assert (process.attributes or {})["messaging.destination.name"] == topic


async def test_rpc_keeps_one_trace(obs_capture: Any, kit: Any) -> None:
    broker_cls, test_broker, middleware = kit
    broker = broker_cls(middlewares=[middleware()])
    topic = unique()

    @broker.subscriber(topic)
    async def upper(body: str) -> str:
        return body.upper()

    async with test_broker(broker):
        with obs.span("caller"):
            response = await broker.request("ping", topic)
    assert await response.decode() == "PING"
    request = obs_capture.one(f"send {topic}")
    process = obs_capture.one(f"process {topic}")
    assert_child(obs_capture, request, obs_capture.one("caller"))
    assert_child(obs_capture, process, request)
    assert len(obs_capture.traces()) == 1


async def test_publisher_chain(obs_capture: Any, kit: Any) -> None:
    broker_cls, test_broker, middleware = kit
    broker = broker_cls(middlewares=[middleware()])
    first, second = unique("a"), unique("b")

    @broker.subscriber(first)
    @broker.publisher(second)
    async def step(body: int) -> int:
        return body * 2

    @broker.subscriber(second)
    async def last(body: int) -> None:
        pass

    async with test_broker(broker):
        await broker.publish(21, first)

    assert obs_capture.tree() == [
        f"send {first}",
        f"  process {first}",
        f"    send {second}",
        f"      process {second}",
    ]


async def test_batch(obs_capture: Any, kit: Any) -> None:
    broker_cls, test_broker, middleware = kit
    broker = broker_cls(middlewares=[middleware()])
    topic = unique()
    got: list[Any] = []

    @broker.subscriber(topic, batch=True)
    async def handle(bodies: list[int]) -> None:
        got.extend(bodies)

    async with test_broker(broker):
        with obs.span("producer"):
            await broker.publish_batch(1, 2, 3, topic=topic)

    assert sorted(got) == [1, 2, 3]
    send = obs_capture.one(f"send {topic}")
    assert (send.attributes or {})["messaging.batch.message_count"] == 3
    processes = obs_capture.find(f"process {topic}")
    assert processes
    for process in processes:
        assert (process.attributes or {})["messaging.batch.message_count"] >= 1
        assert_links_to(process, send)


async def test_handler_error_reaches_the_caller_unchanged(obs_capture: Any, kit: Any) -> None:
    broker_cls, test_broker, middleware = kit
    broker = broker_cls(middlewares=[middleware()])
    topic = unique()
    raised = ValueError("nope")

    @broker.subscriber(topic)
    async def boom(body: str) -> None:
        raise raised

    async with test_broker(broker):
        with pytest.raises(ValueError, match="nope") as info:
            await broker.publish("x", topic)
    assert info.value is raised
    assert_process_failed(obs_capture.one(f"process {topic}"), "ValueError")
    send = obs_capture.one(f"send {topic}")
    assert (send.attributes or {})["error.type"] == "ValueError"  # raised through the publish


@pytest.mark.parametrize("body", [b"\x00\xff\xfe", b"{broken json", b"z" * 2_000_000])
async def test_bad_input(obs_capture: Any, kit: Any, body: bytes) -> None:
    broker_cls, test_broker, middleware = kit
    broker = broker_cls(middlewares=[middleware()])
    topic = unique()
    got: list[bytes] = []

    @broker.subscriber(topic)
    async def handle(msg: bytes) -> None:
        got.append(msg)

    async with test_broker(broker):
        await broker.publish(body, topic, headers={"traceparent": "00-broken", "baggage": "="})
    assert got == [body]
    process = obs_capture.one(f"process {topic}")
    assert (process.attributes or {})["messaging.message.body.size"] == len(body)
