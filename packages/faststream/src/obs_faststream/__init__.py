"""obs-faststream: OpenTelemetry for FastStream brokers, on obs.

Add the middleware of your broker by hand::

    from obs_faststream.redis import RedisTelemetryMiddleware

    broker = RedisBroker(middlewares=[RedisTelemetryMiddleware()])

or let ``obs.configure(instrument=True)`` / ``obs.instrument("faststream")`` add it to every
broker created afterwards. One module per broker (``redis``, ``rabbit``, ``nats``, ``mqtt``,
``kafka``, ``confluent``); this package exposes the generic pieces a new broker needs.
Importing this package does not import FastStream.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from obs.instrumentation import lazy_exports

if TYPE_CHECKING:
    from obs_faststream._adapter import BrokerAdapter
    from obs_faststream._integration import FastStreamIntegration
    from obs_faststream._middleware import MessageTelemetry, TelemetryMiddleware

_LAZY = {
    "BrokerAdapter": "obs_faststream._adapter",
    "FastStreamIntegration": "obs_faststream._integration",
    "MessageTelemetry": "obs_faststream._middleware",
    "TelemetryMiddleware": "obs_faststream._middleware",
}


__getattr__ = lazy_exports(__name__, _LAZY)


__all__ = ["BrokerAdapter", "FastStreamIntegration", "MessageTelemetry", "TelemetryMiddleware"]
