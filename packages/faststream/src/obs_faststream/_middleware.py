"""The generic telemetry middleware: the factory FastStream calls for every message.

FastStream builds one middleware object per consumed message (``factory(msg, context=...)``)
and one per publish made outside a handler (``factory(None, context=...)``). The factory
(:class:`TelemetryMiddleware`, here) holds what is shared (tracer, metrics, the broker
adapter); the per-message object (:class:`MessageTelemetry`, in ``_message.py``) holds the span
of that message, and ``_settlement.py`` ends a process span when the message is settled.
``MessageTelemetry`` and the other moved names are re-exported here, where they were
importable from.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from faststream._internal.context.repository import ContextRepo
from faststream._internal.middlewares import BaseMiddleware
from opentelemetry.metrics import Meter, MeterProvider
from opentelemetry.trace import Tracer, TracerProvider

from obs.instrumentation import (
    PropagationPolicy,
    distribution_version,
    get_meter,
    get_tracer,
    parse_policy,
)
from obs_faststream._adapter import BrokerAdapter
from obs_faststream._message import _JOINING as _JOINING
from obs_faststream._message import MessageTelemetry, _Shared
from obs_faststream._metrics import metrics_for
from obs_faststream._settlement import _BASE_SETTLEMENT as _BASE_SETTLEMENT
from obs_faststream._settlement import _Settlement as _Settlement
from obs_faststream._settlement import _settles_remotely as _settles_remotely

SCOPE = "obs.faststream"
VERSION = distribution_version("obs-faststream")


class TelemetryMiddleware:
    """A FastStream broker middleware: ``Broker(middlewares=[...])`` or ``broker.add_middleware``.

    Use the per-broker classes (``obs_faststream.redis.RedisTelemetryMiddleware``, ...); this
    generic class takes the broker's :class:`BrokerAdapter`.

    ``tracer_provider`` / ``meter_provider`` default to the global ones (obs's, once
    ``obs.configure()`` ran). ``tracer`` / ``meter`` replace the instrumentation scope
    (``obs.faststream``) altogether. ``include_messages_counters=False`` drops the
    sent/consumed message counters (the duration histograms stay).
    """

    #: What a per-broker subclass sets: how to build its adapter.
    adapter_factory: ClassVar[Callable[[], BrokerAdapter] | None] = None

    def __init__(
        self,
        adapter: BrokerAdapter | None = None,
        *,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        tracer: Tracer | None = None,
        meter: Meter | None = None,
        include_messages_counters: bool = True,
        propagation: PropagationPolicy | str | None = None,
    ) -> None:
        if adapter is None:
            factory = type(self).adapter_factory
            if factory is None:
                raise TypeError(
                    "TelemetryMiddleware needs a BrokerAdapter (or use a broker's class)"
                )
            adapter = factory()
        tracer = tracer or get_tracer(SCOPE, VERSION, tracer_provider)
        meter = meter or get_meter(SCOPE, VERSION, meter_provider)
        policy = None if propagation is None else parse_policy(propagation)
        self._shared = _Shared(
            adapter, tracer, metrics_for(meter), include_messages_counters, policy
        )
        #: Set by the ``faststream`` integration on uninstrument: the broker keeps the object
        #: in its middleware list, but it does nothing any more.
        self.enabled = True

    @property
    def adapter(self) -> BrokerAdapter:
        return self._shared.adapter

    def __call__(self, msg: Any | None, /, *, context: ContextRepo) -> BaseMiddleware[Any, Any]:
        if not self.enabled:
            return BaseMiddleware(msg, context=context)
        return MessageTelemetry(msg, context, self._shared)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._shared.system}>"


__all__ = ["SCOPE", "VERSION", "MessageTelemetry", "TelemetryMiddleware"]
