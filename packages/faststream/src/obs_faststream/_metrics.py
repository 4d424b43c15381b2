"""Messaging metrics: operation durations and sent/consumed message counts.

Durations are histograms (one ``record`` per operation). The message counts are monotonic
counters, reported through observable counters: the hot path only bumps an in-process total
(a dict update under a lock) and the SDK reads the totals when it collects, which costs far
less per message than a synchronous ``Counter.add`` with attributes. What is exported is the
same cumulative sum.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable
from typing import Any, Protocol

from opentelemetry.metrics import CallbackOptions, Meter, Observation

from obs.instrumentation import BoundHistogram
from obs_faststream import _semconv as sc

#: (system, destination, operation name, error type or None)
Key = tuple[str, str, str, "str | None"]


class _MetricTarget(Protocol):
    """What a metric point needs of a destination (``_message._Target``)."""

    @property
    def system(self) -> str: ...

    @property
    def destination(self) -> str: ...

    @property
    def metric_attributes(self) -> dict[str, Any]: ...

    @property
    def duration(self) -> BoundHistogram: ...


class _Totals:
    """Cumulative message counts by attribute set, read by an observable counter."""

    __slots__ = ("_counts", "_lock")

    def __init__(self) -> None:
        self._counts: dict[Key, int] = {}
        self._lock = threading.Lock()

    def add(self, key: Key, amount: int) -> None:
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + amount

    def observe(self, _options: CallbackOptions) -> Iterable[Observation]:
        with self._lock:
            items = list(self._counts.items())
        for (system, destination, operation, error), value in items:
            attributes = {
                sc.SYSTEM: system,
                sc.DESTINATION: destination,
                sc.OPERATION_NAME: operation,
            }
            if error is not None:
                attributes[sc.ERROR_TYPE] = error
            yield Observation(value, attributes)


class MessagingMetrics:
    """The instruments of one meter, shared by every middleware using that meter."""

    def __init__(self, meter: Meter) -> None:
        self.operation_duration = meter.create_histogram(
            sc.CLIENT_OPERATION_DURATION,
            unit="s",
            description="Duration of messaging operations initiated by a producer or consumer.",
            explicit_bucket_boundaries_advisory=sc.DURATION_BUCKETS,
        )
        self.process_duration = meter.create_histogram(
            sc.PROCESS_DURATION,
            unit="s",
            description="Duration of processing operations.",
            explicit_bucket_boundaries_advisory=sc.DURATION_BUCKETS,
        )
        self.sent = _Totals()
        self.consumed = _Totals()
        meter.create_observable_counter(
            sc.SENT_MESSAGES,
            callbacks=[self.sent.observe],
            unit="{message}",
            description="Number of messages producer attempted to send to the broker.",
        )
        meter.create_observable_counter(
            sc.CONSUMED_MESSAGES,
            callbacks=[self.consumed.observe],
            unit="{message}",
            description="Number of messages that were delivered to the application.",
        )

    # Histograms: one point per operation with the destination's fixed attribute set, through
    # its bound handle (made once per destination, ``_message._Target``); an error adds
    # ``error.type`` and goes through the SDK's ``record``.
    def record_send(
        self, target: _MetricTarget, seconds: float, count: int, error: str | None
    ) -> None:
        if error is None:
            target.duration.record(seconds)
        else:
            attributes = {**target.metric_attributes, sc.ERROR_TYPE: error}
            self.operation_duration.record(seconds, attributes)
        if count:  # 0 when the user switched message counters off
            self.sent.add((target.system, target.destination, sc.SEND, error), count)

    def record_process(
        self, target: _MetricTarget, seconds: float, count: int, error: str | None
    ) -> None:
        if error is None:
            target.duration.record(seconds)
        else:
            attributes = {**target.metric_attributes, sc.ERROR_TYPE: error}
            self.process_duration.record(seconds, attributes)
        if count:
            self.consumed.add((target.system, target.destination, sc.PROCESS, error), count)


# One set of instruments per meter: several brokers (or middlewares) on the same meter must
# not register the same instruments twice.
_by_meter: weakref.WeakKeyDictionary[Meter, MessagingMetrics] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def metrics_for(meter: Meter) -> MessagingMetrics:
    with _lock:
        try:
            found = _by_meter.get(meter)
        except TypeError:  # a meter that cannot be weakly referenced: no sharing
            return MessagingMetrics(meter)
        if found is None:
            found = _by_meter[meter] = MessagingMetrics(meter)
        return found
