"""Metric helpers that work before and after ``obs.configure()``.

Instruments come from the global meter provider; obs's swappable provider (or the API's proxy
before configure) rebinds them, so an instrument created at import time keeps working.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from opentelemetry import metrics as metrics_api

from obs._version import VERSION

_lock = threading.Lock()
_cache: dict[tuple[str, str], object] = {}


def _meter() -> metrics_api.Meter:
    return metrics_api.get_meter("obs", VERSION)


def _cached(kind: str, name: str, factory: object) -> object:
    key = (kind, name)
    with _lock:
        instrument = _cache.get(key)
        if instrument is None:
            instrument = factory() if callable(factory) else factory
            _cache[key] = instrument
        return instrument


def counter(name: str, *, unit: str = "", description: str = "") -> metrics_api.Counter:
    """A monotonic counter (``.add(n, attributes)``)."""
    return _cached(  # type: ignore[return-value]
        "counter", name, lambda: _meter().create_counter(name, unit, description)
    )


def up_down_counter(
    name: str, *, unit: str = "", description: str = ""
) -> metrics_api.UpDownCounter:
    """A counter that can go down (queue depth, open connections)."""
    return _cached(  # type: ignore[return-value]
        "up_down_counter", name, lambda: _meter().create_up_down_counter(name, unit, description)
    )


def histogram(
    name: str,
    *,
    unit: str = "",
    description: str = "",
    buckets: Sequence[float] | None = None,
) -> metrics_api.Histogram:
    """A distribution of values (``.record(v, attributes)``), e.g. durations."""
    return _cached(  # type: ignore[return-value]
        "histogram",
        name,
        lambda: _meter().create_histogram(
            name, unit, description, explicit_bucket_boundaries_advisory=buckets
        ),
    )


def gauge(name: str, *, unit: str = "", description: str = "") -> metrics_api._Gauge:
    """A value that is set, not added (``.set(v, attributes)``)."""
    return _cached(  # type: ignore[return-value]
        "gauge", name, lambda: _meter().create_gauge(name, unit, description)
    )
