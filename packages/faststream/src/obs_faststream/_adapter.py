"""What a broker has to tell the generic middleware: names and attributes, nothing else.

The mechanics (spans, context propagation, metrics, errors, settlement) live in
``_middleware.py`` once. A broker module only subclasses :class:`BrokerAdapter` to say how
to read a destination and its own attributes from a publish command or a received message.
"""

from __future__ import annotations

from typing import Any

from faststream.message import StreamMessage
from faststream.response import PublishCommand
from opentelemetry.util.types import AttributeValue

Attributes = dict[str, AttributeValue]


class BrokerAdapter:
    """The per-broker part of the telemetry middleware. Methods are called per message.

    Implementations must be cheap and must not raise for odd input (the middleware catches
    and reports failures, but then the message goes untraced).
    """

    #: ``messaging.system`` (``redis``, ``rabbitmq``, ``nats``, ``mqtt``, ``kafka``).
    system: str = ""

    def publish_destination(self, cmd: PublishCommand) -> str:
        """Where a publish goes: ``messaging.destination.name`` and the span name target."""
        return cmd.destination

    def publish_attributes(self, cmd: PublishCommand, attributes: Attributes) -> None:
        """Add broker-specific attributes of a publish (the common ones are already set)."""

    def carries_headers(self, call_next: Any) -> bool:
        """Whether the producer behind ``call_next`` can send headers (MQTT 3.1.1 cannot)."""
        return True

    def consume_destination(self, msg: StreamMessage[Any]) -> str | None:
        """Where a received message came from; ``None`` to leave the message untraced."""
        return ""

    def consume_template(self, msg: StreamMessage[Any]) -> str | None:
        """The subscription pattern the message matched, when it is one (low cardinality)."""
        return None

    def consume_attributes(self, msg: StreamMessage[Any], attributes: Attributes) -> None:
        """Add broker-specific attributes of a received message."""

    def batch_size(self, msg: StreamMessage[Any]) -> int | None:
        """How many messages a received batch holds; ``None`` for a single message."""
        return None


def body_size(body: object) -> int | None:
    """``messaging.message.body.size`` for what FastStream hands over (bytes, or a batch)."""
    if isinstance(body, (bytes, bytearray, memoryview)):
        return len(body)
    if isinstance(body, str) and body.isascii():  # non-ASCII would need an encode: skipped
        return len(body)
    if isinstance(body, (list, tuple)):
        total = 0
        for part in body:
            size = body_size(part)
            if size is None:
                return None
            total += size
        return total
    return None


def text(value: object) -> str | None:
    """A key or id as attribute text: str as is, bytes decoded, anything else left out."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "backslashreplace")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None
