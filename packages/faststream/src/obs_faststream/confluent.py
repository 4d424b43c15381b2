"""Kafka through confluent-kafka: ``KafkaTelemetryMiddleware`` (FastStream's name for it too).

from faststream.confluent import KafkaBroker
from obs_faststream.confluent import KafkaTelemetryMiddleware

broker = KafkaBroker(middlewares=[KafkaTelemetryMiddleware()])
"""

from __future__ import annotations

from typing import Any

from obs_faststream._kafka import KafkaAdapterBase
from obs_faststream._middleware import TelemetryMiddleware


def _call(record: Any, name: str) -> Any:
    method = getattr(record, name, None)
    return method() if callable(method) else method


class ConfluentAdapter(KafkaAdapterBase):
    """confluent-kafka ``Message``: accessor methods."""

    def topic(self, record: Any) -> str:
        return str(_call(record, "topic") or "")

    def partition(self, record: Any) -> int | None:
        value = _call(record, "partition")
        return value if isinstance(value, int) else None

    def offset(self, record: Any) -> int | None:
        value = _call(record, "offset")
        return value if isinstance(value, int) and value >= 0 else None

    def key(self, record: Any) -> object:
        return _call(record, "key")


class KafkaTelemetryMiddleware(TelemetryMiddleware):
    """Telemetry for a confluent ``KafkaBroker``; same name and arguments as FastStream's own."""

    adapter_factory = ConfluentAdapter


__all__ = ["ConfluentAdapter", "KafkaTelemetryMiddleware"]
