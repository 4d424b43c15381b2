"""NATS and JetStream: ``NatsTelemetryMiddleware``.

    from faststream.nats import NatsBroker
    from obs_faststream.nats import NatsTelemetryMiddleware

    broker = NatsBroker(middlewares=[NatsTelemetryMiddleware()])

Key-value and object-store watchers deliver no message with headers; they are left untraced,
as FastStream's own middleware does.
"""

from __future__ import annotations

from typing import Any

from faststream.message import StreamMessage
from nats.aio.msg import Msg

from obs_faststream._adapter import BrokerAdapter
from obs_faststream._middleware import TelemetryMiddleware


class NatsAdapter(BrokerAdapter):
    system = "nats"

    def consume_destination(self, msg: StreamMessage[Any]) -> str | None:
        raw = msg.raw_message
        if isinstance(raw, Msg):
            return raw.subject
        if isinstance(raw, (list, tuple)) and raw and isinstance(raw[0], Msg):
            return raw[0].subject
        return None

    def batch_size(self, msg: StreamMessage[Any]) -> int | None:
        raw = msg.raw_message
        return len(raw) if isinstance(raw, (list, tuple)) else None


class NatsTelemetryMiddleware(TelemetryMiddleware):
    """Telemetry for a ``NatsBroker``; same name and arguments as FastStream's own."""

    adapter_factory = NatsAdapter


__all__ = ["NatsAdapter", "NatsTelemetryMiddleware"]
