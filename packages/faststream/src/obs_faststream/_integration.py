"""The ``faststream`` entry-point integration (group ``obs.integrations``).

``obs.instrument("faststream")`` (or ``obs.configure(instrument=True)``) makes every broker
created afterwards start with obs's telemetry middleware for its kind (Redis, RabbitMQ, NATS,
MQTT, Kafka, Confluent) as its outermost broker middleware. It wraps the ``__init__`` of
FastStream's common broker base class, so brokers made by FastStream's FastAPI routers are
covered too. A broker that already has an obs-faststream middleware (added by hand) is left
alone. ``uninstrument`` restores ``__init__`` and switches off the middlewares it added.
"""

from __future__ import annotations

import functools
import importlib
import weakref
from typing import Any

from obs.instrumentation import Integration, internal_error

# Broker package (the second part of the broker class' module) -> our module and class.
_MIDDLEWARES = {
    "redis": ("obs_faststream.redis", "RedisTelemetryMiddleware"),
    "rabbit": ("obs_faststream.rabbit", "RabbitTelemetryMiddleware"),
    "nats": ("obs_faststream.nats", "NatsTelemetryMiddleware"),
    "mqtt": ("obs_faststream.mqtt", "MQTTTelemetryMiddleware"),
    "kafka": ("obs_faststream.kafka", "KafkaTelemetryMiddleware"),
    "confluent": ("obs_faststream.confluent", "KafkaTelemetryMiddleware"),
}


def middleware_class_for(broker: object) -> type[Any] | None:
    """obs-faststream's middleware class for a broker instance (None for unknown brokers)."""
    parts = type(broker).__module__.split(".")
    if len(parts) < 2 or parts[0] != "faststream" or parts[1] not in _MIDDLEWARES:
        return None
    module_name, class_name = _MIDDLEWARES[parts[1]]
    cls: type[Any] = getattr(importlib.import_module(module_name), class_name)
    return cls


class FastStreamIntegration(Integration):
    name = "faststream"
    requirement = "faststream>=0.6"

    def __init__(self) -> None:
        super().__init__()
        self._original_init: Any = None
        self._added: weakref.WeakSet[Any] = weakref.WeakSet()

    def _instrument(self, **options: Any) -> None:
        from faststream._internal.broker.broker import BrokerUsecase

        from obs_faststream._middleware import TelemetryMiddleware

        original = BrokerUsecase.__init__
        added = self._added

        @functools.wraps(original)
        def __init__(broker: Any, *args: Any, **kwargs: Any) -> None:
            original(broker, *args, **kwargs)
            try:
                if any(isinstance(m, TelemetryMiddleware) for m in broker.middlewares):
                    return
                cls = middleware_class_for(broker)
                if cls is None:
                    return
                middleware = cls(**options)
                broker.insert_middleware(middleware)
                added.add(middleware)
            except Exception as exc:
                internal_error("obs_faststream auto-instrumentation", exc)

        __init__.__obs_original__ = original  # type: ignore[attr-defined]
        self._original_init = original
        BrokerUsecase.__init__ = __init__  # type: ignore[method-assign,assignment]

    def _uninstrument(self) -> None:
        from faststream._internal.broker.broker import BrokerUsecase

        if self._original_init is not None:
            BrokerUsecase.__init__ = self._original_init  # type: ignore[method-assign]
            self._original_init = None
        for middleware in list(self._added):
            middleware.enabled = False
        self._added = weakref.WeakSet()
