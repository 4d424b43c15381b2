"""obs-faststream on a real MQTT broker (Mosquitto, 127.0.0.1:1883), MQTT 5 and 3.1.1."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from faststream.mqtt import MQTTBroker

import obs
from obs_faststream.mqtt import MQTTTelemetryMiddleware
from tests.conftest import require_service
from tests.faststream.conftest import (
    Spy,
    assert_process_failed,
    settle,
    unique,
    wait,
)


@pytest.fixture(autouse=True)
def _mqtt() -> None:
    require_service("mqtt")


def make_broker(*extra: Any, version: Any = "5.0") -> MQTTBroker:
    return MQTTBroker(
        "mqtt://127.0.0.1:1883",
        version=version,
        middlewares=[*extra, MQTTTelemetryMiddleware()],
        logger=None,
    )


async def test_mqtt_311_publishes_without_headers(obs_capture: Any) -> None:
    """3.1.1 cannot carry headers: publishing must keep working; traces just do not join."""
    broker = make_broker(version="3.1.1")
    topic = unique()
    got: list[str] = []
    done = asyncio.Event()

    @broker.subscriber(topic)
    async def handle(body: str) -> None:
        got.append(body)
        done.set()

    async with broker:
        await broker.start()
        with obs.span("request"):
            await broker.publish("hi", topic)
        await wait(done)
        await settle(obs_capture, f"process {topic}")

    assert got == ["hi"]
    assert obs_capture.one(f"send {topic}").parent is not None
    assert not obs_capture.one(f"process {topic}").links


async def test_handler_error_and_binary_body(obs_capture: Any) -> None:
    spy = Spy()
    broker = make_broker(spy)
    topic = unique()
    raised: list[BaseException] = []

    @broker.subscriber(topic)
    async def boom(body: bytes) -> None:
        exc = ValueError(body[:4])
        raised.append(exc)
        raise exc

    async with broker:
        await broker.start()
        await broker.publish(b"\x00\xff\x10binary", topic, headers={"traceparent": "bad"})
        await settle(obs_capture, f"process {topic}")

    process = obs_capture.one(f"process {topic}")
    assert_process_failed(process, "ValueError")
    assert spy.errors == raised
    assert spy.contexts_ok == [True]
