"""MQTT: ``MQTTTelemetryMiddleware``.

    from faststream.mqtt import MQTTBroker
    from obs_faststream.mqtt import MQTTTelemetryMiddleware

    broker = MQTTBroker(middlewares=[MQTTTelemetryMiddleware()])

Trace context travels in MQTT 5 user properties (FastStream's default protocol version).
MQTT 3.1.1 has no headers (FastStream refuses to publish a message with headers there): the
middleware sees the 3.1.1 producer and injects nothing, so publishing keeps working; messages
are still traced, but the consumer cannot join the producer's trace.
"""

from __future__ import annotations

from typing import Any

from faststream.message import StreamMessage

from obs_faststream._adapter import BrokerAdapter
from obs_faststream._middleware import TelemetryMiddleware


def _producer(call_next: Any) -> object:
    """The producer at the end of FastStream's publish chain (partials of middlewares)."""
    step = call_next
    for _ in range(32):  # the chain is as long as the middleware list; bounded anyway
        owner = getattr(step, "__self__", None)
        if owner is not None and not hasattr(owner, "publish_scope"):
            return owner
        args = getattr(step, "args", None)
        if not args:
            func = getattr(step, "func", None)
            if func is None:
                return None
            step = func
            continue
        step = args[0]
    return None


class MQTTAdapter(BrokerAdapter):
    system = "mqtt"

    def __init__(self) -> None:
        # producer type -> whether it can send headers; a broker's producer class never changes
        self._carries: dict[type, bool] = {}

    def carries_headers(self, call_next: Any) -> bool:
        kind = type(_producer(call_next))
        known = self._carries.get(kind)
        if known is None:
            from faststream.mqtt.publisher.producer import ZmqttProducerV311

            known = self._carries[kind] = not issubclass(kind, ZmqttProducerV311)
        return known

    def consume_destination(self, msg: StreamMessage[Any]) -> str | None:
        return str(getattr(msg.raw_message, "topic", "") or "")


class MQTTTelemetryMiddleware(TelemetryMiddleware):
    """Telemetry for an ``MQTTBroker``; same name and arguments as FastStream's own."""

    adapter_factory = MQTTAdapter


__all__ = ["MQTTAdapter", "MQTTTelemetryMiddleware"]
