"""MQTT: ``MQTTTelemetryMiddleware``.

    from faststream.mqtt import MQTTBroker
    from obs_faststream.mqtt import MQTTTelemetryMiddleware

    broker = MQTTBroker(middlewares=[MQTTTelemetryMiddleware()])

Trace context travels in MQTT 5 user properties (FastStream's default protocol version).
MQTT 3.1.1 has no headers: messages are still traced, but the consumer cannot join the
producer's trace.
"""

from __future__ import annotations

from typing import Any

from faststream.message import StreamMessage
from opentelemetry.metrics import Meter, MeterProvider
from opentelemetry.trace import Tracer, TracerProvider

from obs_faststream._adapter import BrokerAdapter
from obs_faststream._middleware import TelemetryMiddleware


class MQTTAdapter(BrokerAdapter):
    system = "mqtt"

    def consume_destination(self, msg: StreamMessage[Any]) -> str | None:
        return str(getattr(msg.raw_message, "topic", "") or "")


class MQTTTelemetryMiddleware(TelemetryMiddleware):
    """Telemetry for an ``MQTTBroker``; same name and arguments as FastStream's own."""

    def __init__(
        self,
        *,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        tracer: Tracer | None = None,
        meter: Meter | None = None,
        include_messages_counters: bool = True,
    ) -> None:
        super().__init__(
            MQTTAdapter(),
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
            tracer=tracer,
            meter=meter,
            include_messages_counters=include_messages_counters,
        )


__all__ = ["MQTTAdapter", "MQTTTelemetryMiddleware"]
