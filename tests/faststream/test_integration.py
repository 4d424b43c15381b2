"""The ``faststream`` entry-point integration: brokers created after instrument() are traced."""

from __future__ import annotations

from typing import Any

import obs
from obs_faststream._middleware import TelemetryMiddleware


def _ours(broker: Any) -> list[TelemetryMiddleware]:
    return [m for m in broker.middlewares if isinstance(m, TelemetryMiddleware)]


async def test_instrument_adds_the_right_middleware_and_uninstrument_restores(
    obs_capture: Any,
) -> None:
    from faststream._internal.broker.broker import BrokerUsecase
    from faststream.confluent import KafkaBroker as ConfluentBroker
    from faststream.kafka import KafkaBroker, TestKafkaBroker
    from faststream.mqtt import MQTTBroker
    from faststream.nats import NatsBroker
    from faststream.rabbit import RabbitBroker
    from faststream.redis import RedisBroker

    original_init = BrokerUsecase.__init__
    before = RedisBroker()
    assert not _ours(before)

    [info] = obs.instrument("faststream")
    assert info.status == "instrumented", info.detail
    expected = {
        RedisBroker: "redis",
        RabbitBroker: "rabbitmq",
        NatsBroker: "nats",
        MQTTBroker: "mqtt",
        KafkaBroker: "kafka",
        ConfluentBroker: "kafka",
    }
    for cls, system in expected.items():
        [middleware] = _ours(cls())
        assert middleware.adapter.system == system
    confluent = _ours(ConfluentBroker())[0]
    assert type(confluent).__module__ == "obs_faststream.confluent"

    broker = KafkaBroker()
    assert broker.middlewares[0] is _ours(broker)[0]  # outermost: user middlewares inside
    topic = "auto-topic"

    @broker.subscriber(topic)
    async def handle(body: str) -> None:
        pass

    async with TestKafkaBroker(broker):
        await broker.publish("x", topic)
    assert obs_capture.tree() == [f"send {topic}", f"  process {topic}"]

    obs.uninstrument("faststream")
    assert BrokerUsecase.__init__ is original_init
    assert not _ours(RedisBroker())
    obs_capture.clear()
    async with TestKafkaBroker(broker):  # the middleware it added is switched off
        await broker.publish("x", topic)
    assert obs_capture.spans == []


async def test_hand_added_middleware_is_not_doubled(obs_capture: Any) -> None:
    from faststream.redis import RedisBroker

    from obs_faststream.redis import RedisTelemetryMiddleware

    obs.instrument("faststream")
    mine = RedisTelemetryMiddleware()
    broker = RedisBroker(middlewares=[mine])
    assert _ours(broker) == [mine]
    obs.instrument("faststream")  # idempotent
    assert len(_ours(RedisBroker())) == 1


def test_package_import_does_not_import_faststream() -> None:
    import subprocess
    import sys

    code = (
        "import sys, obs_faststream, obs_faststream._integration; "
        "print(any(m == 'faststream' or m.startswith('faststream.') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
