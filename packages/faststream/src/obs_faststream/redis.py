"""Redis (pub/sub channels, lists, streams): ``RedisTelemetryMiddleware``.

from faststream.redis import RedisBroker
from obs_faststream.redis import RedisTelemetryMiddleware

broker = RedisBroker(middlewares=[RedisTelemetryMiddleware()])
"""

from __future__ import annotations

from typing import Any

from faststream.message import StreamMessage

from obs_faststream._adapter import BrokerAdapter, text
from obs_faststream._middleware import TelemetryMiddleware

_BATCH_TYPES = frozenset({"blist", "bstream"})


class RedisAdapter(BrokerAdapter):
    system = "redis"

    def consume_destination(self, msg: StreamMessage[Any]) -> str | None:
        raw = msg.raw_message
        return str(raw.get("channel") or "")

    def consume_template(self, msg: StreamMessage[Any]) -> str | None:
        # A pattern subscription (psubscribe) names the pattern: that is the low-cardinality
        # name, the concrete channel stays in messaging.destination.name.
        return text(msg.raw_message.get("pattern"))

    def batch_size(self, msg: StreamMessage[Any]) -> int | None:
        raw = msg.raw_message
        if raw.get("type") in _BATCH_TYPES:
            return len(raw.get("data") or ())
        return None


class RedisTelemetryMiddleware(TelemetryMiddleware):
    """Telemetry for a ``RedisBroker``; same name and arguments as FastStream's own."""

    adapter_factory = RedisAdapter


__all__ = ["RedisAdapter", "RedisTelemetryMiddleware"]
