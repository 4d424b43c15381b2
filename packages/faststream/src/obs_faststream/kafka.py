"""Kafka through aiokafka: ``KafkaTelemetryMiddleware``.

from faststream.kafka import KafkaBroker
from obs_faststream.kafka import KafkaTelemetryMiddleware

broker = KafkaBroker(middlewares=[KafkaTelemetryMiddleware()])
"""

from __future__ import annotations

from typing import Any

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

    adapter_factory = KafkaAdapter


__all__ = ["KafkaAdapter", "KafkaTelemetryMiddleware"]
