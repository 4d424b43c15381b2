"""obs-faststream on a real RabbitMQ (127.0.0.1:5672): queues, RPC, errors, settlement."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from faststream.rabbit import RabbitBroker, RabbitExchange
from faststream.rabbit.annotations import RabbitMessage as CurrentMessage
from faststream.rabbit.message import RabbitMessage
from opentelemetry.trace import SpanKind

import obs
from obs_faststream.rabbit import RabbitTelemetryMiddleware
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

URL = "amqp://guest:guest@127.0.0.1:5672/"


@pytest.fixture(autouse=True)
def _rabbit() -> None:
    require_service("rabbitmq")


def make_broker(*extra: Any) -> RabbitBroker:
    return RabbitBroker(URL, middlewares=[*extra, RabbitTelemetryMiddleware()], logger=None)


async def test_process_span_carries_the_delivery_tag(obs_capture: Any) -> None:
    broker = make_broker()
    queue = unique()
    got = asyncio.Event()

    @broker.subscriber(queue)
    async def handle(body: dict[str, Any]) -> None:
        got.set()

    async with broker:
        await broker.start()
        with obs.span("POST /orders", _kind=SpanKind.SERVER):
            await broker.publish({"order": 1}, queue=queue)
        await wait(got)
        await settle(obs_capture, f"process {queue}")

    assert obs_capture.tree() == ["POST /orders", f"  send {queue}", f"    process {queue}"]
    send = obs_capture.one(f"send {queue}")
    process = obs_capture.one(f"process {queue}")
    assert_links_to(process, send)
    assert (send.attributes or {})["messaging.system"] == "rabbitmq"
    attributes = process.attributes or {}
    assert attributes["messaging.destination.name"] == queue
    assert isinstance(attributes["messaging.rabbitmq.message.delivery_tag"], int)


async def test_named_exchange_keeps_the_routing_key(obs_capture: Any) -> None:
    broker = make_broker()
    exchange = RabbitExchange(unique("ex"), auto_delete=True)
    queue = unique()
    got = asyncio.Event()

    @broker.subscriber(queue, exchange=exchange)
    async def handle(body: str) -> None:
        got.set()

    async with broker:
        await broker.start()
        await broker.publish("x", queue=queue, exchange=exchange)
        await wait(got)
        await settle(obs_capture, f"process {exchange.name}")

    send = obs_capture.one(f"send {exchange.name}")
    process = obs_capture.one(f"process {exchange.name}")
    assert_child(obs_capture, process, send)
    assert (send.attributes or {})["messaging.rabbitmq.destination.routing_key"] == queue
    assert (process.attributes or {})["messaging.rabbitmq.destination.routing_key"] == queue


async def test_process_span_covers_the_ack(obs_capture: Any, monkeypatch: Any) -> None:
    acked_at: list[int] = []
    original = RabbitMessage.ack

    async def ack(self: RabbitMessage, *args: Any, **kwargs: Any) -> None:
        await original(self, *args, **kwargs)
        acked_at.append(time.time_ns())

    monkeypatch.setattr(RabbitMessage, "ack", ack)
    broker = make_broker()
    queue = unique()

    @broker.subscriber(queue)
    async def handle(body: str) -> None:
        pass

    async with broker:
        await broker.start()
        await broker.publish("x", queue=queue)
        await settle(obs_capture, f"process {queue}")

    process = obs_capture.one(f"process {queue}")
    assert len(acked_at) == 1
    assert process.end_time is not None
    assert process.end_time >= acked_at[0]


async def test_handler_error_recorded_message_rejected_as_usual(obs_capture: Any) -> None:
    spy = Spy()
    broker = make_broker(spy)
    queue = unique()
    raised: list[BaseException] = []
    rejected = asyncio.Event()
    original = RabbitMessage.reject

    @broker.subscriber(queue)
    async def boom(body: str, message: CurrentMessage) -> None:
        async def reject(*args: Any, **kwargs: Any) -> None:
            await original(message, *args, **kwargs)
            rejected.set()

        message.reject = reject  # type: ignore[method-assign]
        exc = RuntimeError("no stock")
        raised.append(exc)
        raise exc

    async with broker:
        await broker.start()
        await broker.publish("x", queue=queue)
        await wait(rejected)  # FastStream's default policy for a failing handler still ran
        await settle(obs_capture, f"process {queue}")

    assert_process_failed(obs_capture.one(f"process {queue}"), "RuntimeError")
    assert spy.errors == raised
    assert spy.contexts_ok == [True]


async def test_malformed_header_and_binary_body(obs_capture: Any) -> None:
    producer = RabbitBroker(URL, logger=None)
    broker = make_broker()
    queue = unique()
    got: list[Any] = []
    done = asyncio.Event()

    @broker.subscriber(queue)
    async def handle(body: bytes) -> None:
        got.append(body)
        done.set()

    payload = b"\x00\xff" * 1024
    async with producer, broker:
        await broker.start()
        await producer.publish(payload, queue=queue, headers={"traceparent": "garbage"})
        await wait(done)
        await settle(obs_capture, f"process {queue}")

    assert got == [payload]
    process = obs_capture.one(f"process {queue}")
    assert process.parent is None
    assert (process.attributes or {})["messaging.message.body.size"] == len(payload)
