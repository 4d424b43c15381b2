"""The ``faststream`` entry-point integration (group ``obs.integrations``).

``obs.instrument("faststream")`` (or ``obs.configure(instrument=True)``) gives every broker obs's
telemetry middleware for its kind (Redis, RabbitMQ, NATS, MQTT, Kafka, Confluent) as its
outermost broker middleware: brokers created afterwards (it wraps the ``__init__`` of
FastStream's common broker base class when FastStream is imported, so brokers made by
FastStream's FastAPI routers are covered too) and brokers that already exist.

A broker has one obs middleware, however it got there: one added by hand (``middlewares=[...]``
or, as FastStream's documentation shows, ``broker.add_middleware(...)``, even after obs added
its own) wins, and the one obs added is switched off. ``uninstrument`` restores the broker
class and switches off the middlewares it added.
"""

from __future__ import annotations

import importlib
import weakref
from dataclasses import dataclass
from typing import Any

from obs.instrumentation import Integration, IntegrationOptions

# Broker package (the second part of the broker class' module) -> our module and class.
_MIDDLEWARES = {
    "redis": ("obs_faststream.redis", "RedisTelemetryMiddleware"),
    "rabbit": ("obs_faststream.rabbit", "RabbitTelemetryMiddleware"),
    "nats": ("obs_faststream.nats", "NatsTelemetryMiddleware"),
    "mqtt": ("obs_faststream.mqtt", "MQTTTelemetryMiddleware"),
    "kafka": ("obs_faststream.kafka", "KafkaTelemetryMiddleware"),
    "confluent": ("obs_faststream.confluent", "KafkaTelemetryMiddleware"),
}

#: Where FastStream's broker base class lives; importing it switches the integration on.
_BROKER_MODULE = "faststream._internal.broker.broker"


def middleware_class_for(broker: object) -> type[Any] | None:
    """obs-faststream's middleware class for a broker instance (None for unknown brokers)."""
    parts = type(broker).__module__.split(".")
    if len(parts) < 2 or parts[0] != "faststream" or parts[1] not in _MIDDLEWARES:
        return None
    module_name, class_name = _MIDDLEWARES[parts[1]]
    cls: type[Any] = getattr(importlib.import_module(module_name), class_name)
    return cls


@dataclass(frozen=True)
class FastStreamOptions(IntegrationOptions):
    """``obs.instrument("faststream", **options)``; ``capture_content`` has no use here."""

    #: The sent/consumed message counters (the duration histograms stay either way).
    include_messages_counters: bool = True


class FastStreamIntegration(Integration):
    name = "faststream"
    requirement = "faststream>=0.6"
    options = FastStreamOptions
    host_module = _BROKER_MODULE

    #: Broker -> the middleware obs added to it.
    _added: weakref.WeakKeyDictionary[Any, Any]

    def _instrument(self, options: FastStreamOptions) -> None:
        broker_base = importlib.import_module(_BROKER_MODULE).BrokerUsecase
        self._added = weakref.WeakKeyDictionary()

        def added(wrapped: Any, broker: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            result = wrapped(*args, **kwargs)
            self._yield_to_hand_added(broker, args[0] if args else kwargs.get("middleware"))
            return result

        self.wrap(broker_base, "add_middleware", added)
        self.wrap(broker_base, "insert_middleware", added)
        self.every_instance(broker_base, lambda broker: self._adopt(broker, options))

    def _adopt(self, broker: Any, options: FastStreamOptions) -> None:
        from obs_faststream._middleware import TelemetryMiddleware

        if any(isinstance(m, TelemetryMiddleware) for m in broker.middlewares):
            return  # added by hand: the user's options stand
        cls = middleware_class_for(broker)
        if cls is None:
            return
        middleware = cls(
            tracer_provider=options.tracer_provider,
            meter_provider=options.meter_provider,
            include_messages_counters=options.include_messages_counters,
            propagation=options.policy(),
        )
        self._added[broker] = middleware
        # insert_middleware is wrapped too: it sees one of ours and does nothing more.
        broker.insert_middleware(middleware)

    def _yield_to_hand_added(self, broker: Any, middleware: object) -> None:
        from obs_faststream._middleware import TelemetryMiddleware

        ours = self._added.get(broker)
        if (
            ours is not None
            and ours is not middleware
            and isinstance(middleware, TelemetryMiddleware)
        ):
            ours.enabled = False  # one process/send span per message, the user's

    def _uninstrument(self) -> None:
        for middleware in list(self._added.values()):
            middleware.enabled = False
        self._added = weakref.WeakKeyDictionary()
