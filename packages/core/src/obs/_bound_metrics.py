"""Histograms recorded with a fixed attribute set, without the SDK's per-record work.

An SDK ``Histogram.record`` costs about half a span. Before the aggregation adds the value to
its buckets it builds a ``Measurement`` (attributes cleaned and copied), then, per reader and
view, copies the attributes again, hashes them into an aggregation key and looks the key up.
For an integration whose attribute sets repeat (a request's method, route and status: a
small set), everything up to the aggregation gives the same answer every time.

A :class:`BoundHistogram` works that answer out once per attribute set: which SDK
aggregations the set lands in, one per reader and view. After that each value goes straight
to them, and the exemplar filter is called exactly as the SDK calls it (same value, time,
attributes and context). So the collected data is what ``record`` would have produced:
buckets, counts, sums, min/max, attributes, temporality and exemplars.
``tests/core/test_bound_metrics.py`` records the same values both ways and compares.

This relies on SDK internals, so the fast path is only taken where they look as expected.
That is checked when a handle is resolved: exact types of the instrument, consumer, reader
storage, view match and aggregation, and the private names used. Anything else falls back
to the public ``record``, which gives the same data at the SDK's cost. "Anything else"
covers another SDK layout, a View that changes the aggregation or drops the instrument, an
instrument that is not the SDK's (metrics off: a no-op one), a non-finite or negative value
(the SDK warns about those) and a meter a configurator disabled. A handle re-resolves when
the instrument behind obs's swappable proxy changes (``obs.configure()`` again) or when a
reader is added or removed.

Temporality: with a delta reader the SDK swaps its aggregations out at every collection. For
that case a handle does what the SDK does (under the view's lock, find or create the set's
aggregation, then aggregate), minus the attribute copying and hashing, so no value is lost
to a collection running at the same moment.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Hashable, Mapping
from time import time_ns
from typing import Any

from opentelemetry import metrics as metrics_api
from opentelemetry.context import Context, get_current
from opentelemetry.util.types import AttributeValue

from obs._cache import BoundedCache
from obs._providers import _Histogram as _ProxyHistogram

_INF = math.inf
#: Distinct attribute sets one :class:`BoundHistograms` keeps handles for (the SDK's default
#: cardinality limit per instrument). Past it, the oldest handle is forgotten and made again
#: if it comes back.
MAX_SETS = 2000


class _Point:
    """What an SDK aggregation and its exemplar reservoir read from a ``Measurement``.

    The SDK's ``Measurement`` is a frozen dataclass that cleans its attributes on every
    construction. Here the attributes were cleaned once, when the handle was resolved.
    """

    __slots__ = ("attributes", "context", "instrument", "time_unix_nano", "value")

    def __init__(
        self,
        value: float,
        time_unix_nano: int,
        instrument: Any,
        context: Context,
        attributes: Mapping[str, AttributeValue],
    ) -> None:
        self.value = value
        self.time_unix_nano = time_unix_nano
        self.instrument = instrument
        self.context = context
        self.attributes = attributes


class _Fixed:
    # Stands in for a measurement consumer in a plan that never looks at readers.
    _reader_storages: object = None


class _Plan:
    """Where one attribute set's values go, for one SDK instrument and one set of readers."""

    __slots__ = (
        "attributes",
        "config",
        "consumer",
        "direct",
        "idle",
        "instrument",
        "locked",
        "should_sample",
        "storages",
    )

    def __init__(self, instrument: object) -> None:
        self.instrument = instrument
        self.consumer: Any = _Fixed
        self.storages: object = None
        # None: use the public record
        self.direct: tuple[Any, ...] | None = None
        self.locked: tuple[tuple[Any, Any, Any, dict[str, Any]], ...] = ()
        self.idle = False  # no aggregation to feed (no reader)
        self.attributes: Mapping[str, AttributeValue] = {}
        self.config: Any = None
        self.should_sample: Callable[..., bool] = _never


def _never(*args: object) -> bool:
    return False


class _Internals:
    """The SDK pieces the fast path uses, imported once; ``ok`` is False if any is missing."""

    def __init__(self) -> None:
        self.ok = False
        try:
            from opentelemetry.sdk.metrics._internal import _view_instrument_match as vim
            from opentelemetry.sdk.metrics._internal.aggregation import (
                _ExplicitBucketHistogramAggregation,
            )
            from opentelemetry.sdk.metrics._internal.instrument import Histogram
            from opentelemetry.sdk.metrics._internal.measurement import Measurement
            from opentelemetry.sdk.metrics._internal.measurement_consumer import (
                SynchronousMeasurementConsumer,
            )
            from opentelemetry.sdk.metrics._internal.metric_reader_storage import (
                MetricReaderStorage,
            )
        except ImportError:
            return
        self.histogram: type[Any] = Histogram
        self.record = Histogram.record
        self.consumer: type[Any] = SynchronousMeasurementConsumer
        self.storage: type[Any] = MetricReaderStorage
        self.match: Any = getattr(vim, "_ViewInstrumentMatch", None)
        self.aggregation: type[Any] = _ExplicitBucketHistogramAggregation
        self.measurement: type[Any] = Measurement
        hash_attributes = getattr(vim, "_hash_attributes", None)
        fields = tuple(f.name for f in dataclasses.fields(Measurement))
        self.ok = (
            callable(hash_attributes)
            and self.match is not None
            and fields == ("value", "time_unix_nano", "instrument", "context", "attributes")
            and all(
                hasattr(self.match, name)
                for name in ("_get_or_create_aggregation", "consume_measurement")
            )
            and hasattr(MetricReaderStorage, "_get_or_init_view_instrument_match")
        )
        if self.ok:
            self.hash_attributes: Callable[[Any], Hashable] = hash_attributes  # type: ignore[assignment]


_internals: _Internals | None = None


def _sdk() -> _Internals:
    global _internals
    if _internals is None:
        _internals = _Internals()
    return _internals


class _Enabled:
    # An SDK instrument made without a meter config is always enabled.
    is_enabled = True


def _resolve(instrument: Any, attributes: Mapping[str, AttributeValue]) -> _Plan:
    """The aggregations ``attributes`` land in for ``instrument``, or a public-record plan."""
    try:
        return _resolve_fast(instrument, attributes)
    except (AttributeError, TypeError, ValueError):  # an SDK laid out otherwise
        return _Plan(instrument)


def _resolve_fast(instrument: Any, attributes: Mapping[str, AttributeValue]) -> _Plan:
    plan = _Plan(instrument)
    sdk = _sdk()
    if not sdk.ok or not isinstance(instrument, sdk.histogram):
        return plan
    if type(instrument).record is not sdk.record:  # a subclass doing its own thing
        return plan
    consumer = instrument._measurement_consumer
    if type(consumer) is not sdk.consumer:
        return plan
    config = instrument._meter_config
    if config is None:
        config = _Enabled
    elif not hasattr(config, "is_enabled") or not config.is_enabled:
        # Disabled now: the public path, which checks each time (no aggregation created here,
        # which the SDK would then export as an empty point).
        return plan
    should_sample = consumer._sdk_config.exemplar_filter.should_sample
    storages = consumer._reader_storages
    # The attributes exactly as the SDK's Measurement cleans them.
    cleaned = sdk.measurement(0, 0, instrument, get_current(), dict(attributes)).attributes or {}
    direct: list[Any] = []
    locked: list[tuple[Any, Any, Any, dict[str, Any]]] = []
    for storage in list(storages.values()):
        if type(storage) is not sdk.storage:
            return plan
        for match in storage._get_or_init_view_instrument_match(instrument):
            if (
                type(match) is not sdk.match
                or type(match._aggregation) is not sdk.aggregation
                or not isinstance(match._reset_on_collect, bool)
            ):
                return plan  # a View changed the aggregation (or dropped the instrument)
            keys = match._view._attribute_keys
            kept = dict(cleaned)
            if keys is not None:
                kept = {k: v for k, v in kept.items() if k in keys}
            key = sdk.hash_attributes(kept)
            if match._reset_on_collect:
                # Delta: the aggregation is replaced at each collection; find it every time.
                locked.append((match._lock, match, key, kept))
            else:
                with match._lock:
                    aggregation = match._get_or_create_aggregation(key, dict(kept))
                if type(aggregation) is not sdk.aggregation:
                    return plan
                direct.append(aggregation)
    plan.consumer = consumer
    plan.storages = storages
    plan.attributes = cleaned
    plan.config = config
    plan.should_sample = should_sample
    plan.direct = tuple(direct)
    plan.locked = tuple(locked)
    plan.idle = not direct and not locked
    return plan


class BoundHistogram:
    """A histogram with a fixed attribute set: ``record(value)`` costs a fraction of ``record``.

    ``histogram`` is an instrument from ``obs.instrumentation.get_meter(...)`` (obs's
    swappable one) or any OpenTelemetry histogram; the data collected is the same as from
    ``histogram.record(value, attributes)``.
    """

    __slots__ = ("_attributes", "_instrument", "_plan", "_proxy")

    def __init__(
        self, histogram: metrics_api.Histogram, attributes: Mapping[str, AttributeValue]
    ) -> None:
        self._attributes = dict(attributes)
        self._proxy = histogram if isinstance(histogram, _ProxyHistogram) else None
        self._instrument: Any = histogram
        self._plan: _Plan | None = None

    @property
    def attributes(self) -> Mapping[str, AttributeValue]:
        return self._attributes

    def record(self, amount: float, context: Context | None = None) -> None:
        proxy = self._proxy
        instrument = proxy._real if proxy is not None else self._instrument
        if not 0.0 <= amount < _INF:
            # The SDK rejects it (and says so): never resolve a plan for it, since resolving
            # creates the aggregation a cumulative reader would then export, empty.
            instrument.record(amount, self._attributes, context)
            return
        plan = self._plan
        if (
            plan is None
            or plan.instrument is not instrument
            or plan.storages is not plan.consumer._reader_storages
        ):
            plan = self._plan = _resolve(instrument, self._attributes)
        direct = plan.direct
        if direct is None or not plan.config.is_enabled:
            instrument.record(amount, self._attributes, context)
            return
        if plan.idle:
            return  # no reader: the SDK would build a Measurement that nothing aggregates
        now = time_ns()
        if not context:  # as the SDK: ``context or get_current()`` (an empty one too)
            context = get_current()
        attributes = plan.attributes
        point = _Point(amount, now, instrument, context, attributes)
        sample = plan.should_sample(amount, now, attributes, context)
        for aggregation in direct:
            aggregation.aggregate(point, sample)
        for lock, match, key, kept in plan.locked:
            with lock:
                match._get_or_create_aggregation(key, dict(kept)).aggregate(point, sample)


class BoundHistograms:
    """One histogram's :class:`BoundHistogram` handles, one per attribute set.

    The caller keys each set by something cheaper to build than the set itself (a tuple of
    its values in a fixed order), and builds the attributes only on a miss. The key must
    tell apart the sets the SDK tells apart: ``True``, ``1`` and ``1.0`` are three sets to
    the SDK but one dict key, so a key whose values can change type must carry the type::

        handle = durations.get(key) or durations.bind(key, {...})
        handle.record(seconds)
    """

    __slots__ = ("_handles", "get", "histogram")

    def __init__(self, histogram: metrics_api.Histogram, max_sets: int = MAX_SETS) -> None:
        self.histogram = histogram
        self._handles: BoundedCache[Hashable, BoundHistogram] = BoundedCache(max_sets)
        #: ``get(key)``: the handle bound for ``key``, or None. The cache's own dict look-up
        #: (a C call, no Python frame); the cache never replaces that dict, only empties it.
        self.get: Callable[[Hashable], BoundHistogram | None] = self._handles._data.get

    def bind(self, key: Hashable, attributes: Mapping[str, AttributeValue]) -> BoundHistogram:
        handle = BoundHistogram(self.histogram, attributes)
        self._handles.put(key, handle)
        return handle


def fast_path_in_use(handle: BoundHistogram) -> bool:
    """Whether ``handle``'s last record went straight to the SDK's aggregations (for tests)."""
    plan = handle._plan
    return plan is not None and plan.direct is not None


__all__ = ["MAX_SETS", "BoundHistogram", "BoundHistograms", "fast_path_in_use"]
