"""What every real broker must do alike: one trace from producer to consumer, RPC in one trace,
a failing handler recorded with FastStream's own error path intact.

Each broker runs the same tests against its real server on loopback; broker-specific behaviour
(batches, settlement, exchanges, MQTT 3.1.1, patterns) stays in test_<broker>.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from faststream.mqtt import MQTTBroker
from faststream.nats import NatsBroker
from faststream.rabbit import RabbitBroker
from faststream.redis import RedisBroker
from opentelemetry.trace import SpanKind

import obs
from obs_faststream.mqtt import MQTTTelemetryMiddleware
from obs_faststream.nats import NatsTelemetryMiddleware
from obs_faststream.rabbit import RabbitTelemetryMiddleware
from obs_faststream.redis import RedisTelemetryMiddleware
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


@dataclass(frozen=True)
class Kit:
    """How to reach one broker: the only part that differs between brokers."""

    system: str
    service: str
    make: Callable[[list[Any]], Any]
    #: keyword under which the destination is given to subscriber/publish/request (None: positional)
    keyword: str | None

    def broker(self, *extra: Any) -> Any:
        return self.make(list(extra))

    def where(self, name: str) -> tuple[tuple[Any, ...], dict[str, Any]]:
        return ((), {self.keyword: name}) if self.keyword else ((name,), {})


KITS = [
    Kit(
        "redis",
        "redis",
        lambda mw: RedisBroker(
            "redis://127.0.0.1:6379", middlewares=[*mw, RedisTelemetryMiddleware()], logger=None
        ),
        "list",
    ),
    Kit(
        "rabbitmq",
        "rabbitmq",
        lambda mw: RabbitBroker(
            "amqp://guest:guest@127.0.0.1:5672/",
            middlewares=[*mw, RabbitTelemetryMiddleware()],
            logger=None,
        ),
        "queue",
    ),
    Kit(
        "nats",
        "nats",
        lambda mw: NatsBroker(
            "nats://127.0.0.1:4222", middlewares=[*mw, NatsTelemetryMiddleware()], logger=None
        ),
        None,
    ),
    Kit(
        "mqtt",
        "mqtt",
        lambda mw: MQTTBroker(
            "mqtt://127.0.0.1:1883",
            version="5.0",
            middlewares=[*mw, MQTTTelemetryMiddleware()],
            logger=None,
        ),
        None,
    ),
]


@pytest.fixture(params=KITS, ids=[k.system for k in KITS])
def kit(request: pytest.FixtureRequest) -> Kit:
    chosen: Kit = request.param
    require_service(chosen.service)
    return chosen


async def test_consumer_joins_the_producers_trace(kit: Kit, obs_capture: Any) -> None:
    broker = kit.broker()
    name = unique()
    args, kwargs = kit.where(name)
    got = asyncio.Event()

    @broker.subscriber(*args, **kwargs)
    async def handle(body: dict[str, Any]) -> None:
        with obs.span("work {order}", order=body["order"]):
            got.set()

    async with broker:
        await broker.start()
        with obs.span("POST /orders", _kind=SpanKind.SERVER):
            await broker.publish({"order": 7}, *args, **kwargs)
        await wait(got)
        await settle(obs_capture, f"process {name}")

    assert obs_capture.tree() == [
        "POST /orders",
        f"  send {name}",
        f"    process {name}",
        "      work {order}",
    ]
    send = obs_capture.one(f"send {name}")
    process = obs_capture.one(f"process {name}")
    assert send.kind is SpanKind.PRODUCER
    assert process.kind is SpanKind.CONSUMER
    assert_links_to(process, send)
    for span, operation in ((send, "send"), (process, "process")):
        attributes = span.attributes or {}
        assert attributes["messaging.system"] == kit.system
        assert attributes["messaging.destination.name"] == name
        assert attributes["messaging.operation.type"] == operation
        assert "messaging.operation" not in attributes  # the deprecated name is not written


async def test_rpc_keeps_one_trace(kit: Kit, obs_capture: Any) -> None:
    broker = kit.broker()
    name = unique()
    args, kwargs = kit.where(name)
    if kit.keyword == "list":  # Redis answers requests on a channel, not a list
        args, kwargs = (name,), {}

    @broker.subscriber(*args, **kwargs)
    async def upper(body: str) -> str:
        return body.upper()

    request_kwargs = {"channel": name} if kit.keyword == "list" else kwargs
    request_args = () if kit.keyword == "list" else args
    async with broker:
        await broker.start()
        with obs.span("caller"):
            response = await asyncio.wait_for(
                broker.request("ping", *request_args, **request_kwargs), 10
            )
        await settle(obs_capture, f"process {name}")
    assert await response.decode() == "PING"

    request = obs_capture.one(f"send {name}")
    process = obs_capture.one(f"process {name}")
    assert_child(obs_capture, request, obs_capture.one("caller"))
    assert_child(obs_capture, process, request)
    replies = [s for s in obs_capture.children(process) if s.kind is SpanKind.PRODUCER]
    assert len(replies) == 1  # the reply is published from inside the process span
    assert len(obs_capture.traces()) == 1


async def test_handler_error_is_recorded_and_reaches_faststream(kit: Kit, obs_capture: Any) -> None:
    spy = Spy()
    broker = kit.broker(spy)
    name = unique()
    args, kwargs = kit.where(name)
    raised: list[BaseException] = []

    @broker.subscriber(*args, **kwargs)
    async def boom(body: str) -> None:
        exc = ValueError("bad order")
        raised.append(exc)
        raise exc

    async with broker:
        await broker.start()
        await broker.publish("x", *args, **kwargs)
        await settle(obs_capture, f"process {name}")

    assert_process_failed(obs_capture.one(f"process {name}"), "ValueError")
    assert spy.errors == raised  # the very same exception object, not a wrapper
    assert spy.contexts_ok == [True]
    points = obs_capture.metrics()["messaging.process.duration"]
    assert any(p.attributes.get("error.type") == "ValueError" for p in points)
