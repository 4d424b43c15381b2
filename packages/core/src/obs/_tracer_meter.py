"""``obs.tracer`` and ``obs.meter``: handles from the global providers, obs's or the user's."""

from __future__ import annotations

from opentelemetry import metrics as _metrics_api
from opentelemetry import trace as _trace_api


def tracer(name: str, version: str | None = None) -> _trace_api.Tracer:
    """A tracer from the global provider (obs's, or the one the user installed)."""
    return _trace_api.get_tracer(name, version)


def meter(name: str, version: str | None = None) -> _metrics_api.Meter:
    """A meter from the global provider (obs's, or the one the user installed)."""
    return _metrics_api.get_meter(name, version or "")
