"""Kafka through aiokafka: ``KafkaTelemetryMiddleware``.

from faststream.kafka import KafkaBroker
from obs_faststream.kafka import KafkaTelemetryMiddleware

broker = KafkaBroker(middlewares=[KafkaTelemetryMiddleware()])
"""

from __future__ import annotations

from typing import Any

from opentelemetry.metrics import Meter, MeterProvider
from opentelemetry.trace import Tracer, TracerProvider

from obs_faststream._kafka import KafkaAdapterBase
from obs_faststream._middleware import TelemetryMiddleware


class KafkaAdapter(KafkaAdapterBase):
    """aiokafka ``ConsumerRecord``: plain attributes."""

    def topic(self, record: Any) -> str:
        return str(getattr(record, "topic", "") or "")

    def partition(self, record: Any) -> int | None:
        return getattr(record, "partition", None)

    def offset(self, record: Any) -> int | None:
        return getattr(record, "offset", None)

    def key(self, record: Any) -> object:
        return getattr(record, "key", None)


class KafkaTelemetryMiddleware(TelemetryMiddleware):
    """Telemetry for an aiokafka ``KafkaBroker``; same name and arguments as FastStream's own."""

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
            KafkaAdapter(),
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
            tracer=tracer,
            meter=meter,
            include_messages_counters=include_messages_counters,
        )


__all__ = ["KafkaAdapter", "KafkaTelemetryMiddleware"]
