"""RabbitMQ (aio-pika): ``RabbitTelemetryMiddleware``.

    from faststream.rabbit import RabbitBroker
    from obs_faststream.rabbit import RabbitTelemetryMiddleware

    broker = RabbitBroker(middlewares=[RabbitTelemetryMiddleware()])

Destination: the exchange, or the routing key (the queue) when the default exchange is used,
so ``send orders`` names the queue a FastStream user published to; the routing key is in
``messaging.rabbitmq.destination.routing_key`` whenever a named exchange is used.
"""

from __future__ import annotations

from typing import Any

from faststream.message import StreamMessage
from faststream.response import PublishCommand

from obs_faststream import _semconv as sc
from obs_faststream._adapter import Attributes, BrokerAdapter, text
from obs_faststream._middleware import TelemetryMiddleware


def _exchange_name(cmd: PublishCommand) -> str:
    exchange = getattr(cmd, "exchange", None)
    return str(getattr(exchange, "name", "") or "")


class RabbitAdapter(BrokerAdapter):
    system = "rabbitmq"

    def publish_destination(self, cmd: PublishCommand) -> str:
        return _exchange_name(cmd) or cmd.destination

    def publish_attributes(self, cmd: PublishCommand, attributes: Attributes) -> None:
        if _exchange_name(cmd) and cmd.destination:
            attributes[sc.RABBITMQ_ROUTING_KEY] = cmd.destination
        options = getattr(cmd, "message_options", None)
        if options:
            message_id = text(options.get("message_id"))
            if message_id:
                attributes[sc.MESSAGE_ID] = message_id

    def consume_destination(self, msg: StreamMessage[Any]) -> str | None:
        raw = msg.raw_message
        return str(getattr(raw, "exchange", "") or getattr(raw, "routing_key", "") or "")

    def consume_attributes(self, msg: StreamMessage[Any], attributes: Attributes) -> None:
        raw = msg.raw_message
        if getattr(raw, "exchange", None) and raw.routing_key:
            attributes[sc.RABBITMQ_ROUTING_KEY] = raw.routing_key
        tag = getattr(raw, "delivery_tag", None)
        if isinstance(tag, int):
            attributes[sc.RABBITMQ_DELIVERY_TAG] = tag


class RabbitTelemetryMiddleware(TelemetryMiddleware):
    """Telemetry for a ``RabbitBroker``; same name and arguments as FastStream's own."""

    adapter_factory = RabbitAdapter


__all__ = ["RabbitAdapter", "RabbitTelemetryMiddleware"]
