"""Where each signal goes over OTLP/HTTP, per the OpenTelemetry environment variables.

A signal is exported only where an endpoint for it was named: a user who sets
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` alone asked for traces, not for metrics sent to
``localhost:4318`` (which nobody runs, and which costs every process a retry loop at flush and
shutdown). The rules, in order:

- ``configure(otlp=False)``: nothing.
- ``configure(otlp_endpoint=BASE)``: both signals under ``BASE`` (``/v1/traces``,
  ``/v1/metrics``); an explicit argument wins over the environment.
- otherwise, per signal: ``OTEL_EXPORTER_OTLP_<SIGNAL>_ENDPOINT`` (a full URL, used as is),
  else ``OTEL_EXPORTER_OTLP_ENDPOINT`` + ``/v1/<signal>``;
- ``configure(otlp=True)`` with none of those: both to ``http://localhost:4318``.
- ``OTEL_TRACES_EXPORTER`` / ``OTEL_METRICS_EXPORTER`` = ``none`` switches that signal off
  whatever the endpoints say (other exporter names are not obs's to build; OTLP is what obs
  sends, so only ``none`` changes anything).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_BASE = "http://localhost:4318"


@dataclass(frozen=True)
class OTLPEndpoints:
    #: Full URL spans are posted to, or None: no span export over OTLP.
    traces: str | None = None
    #: Full URL metrics are posted to, or None: no metric export over OTLP.
    metrics: str | None = None
    #: The base endpoint when one was named (``otlp_endpoint`` or the generic variable).
    base: str | None = None
    #: ``OTEL_TRACES_EXPORTER=none``: the user asked for no span export at all.
    traces_off: bool = False


def signal_off(signal: str) -> bool:
    """``OTEL_<SIGNAL>_EXPORTER`` names ``none`` (alone or in its list)."""
    raw = os.environ.get(f"OTEL_{signal.upper()}_EXPORTER") or ""
    names = {part.strip().lower() for part in raw.split(",") if part.strip()}
    return "none" in names


def _env(name: str) -> str | None:
    value = (os.environ.get(name) or "").strip()
    return value or None


def resolve(endpoint: str | None, enabled: bool | None) -> OTLPEndpoints:
    """The endpoints for ``configure(otlp_endpoint=endpoint, otlp=enabled)``."""
    traces_off = signal_off("traces")
    if enabled is False:
        return OTLPEndpoints(traces_off=traces_off)
    metrics_off = signal_off("metrics")
    if endpoint:
        base: str | None = endpoint.rstrip("/")
        traces: str | None = f"{base}/v1/traces"
        metrics: str | None = f"{base}/v1/metrics"
    else:
        base = _env("OTEL_EXPORTER_OTLP_ENDPOINT")
        if base:
            base = base.rstrip("/")
        traces = _env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or (
            f"{base}/v1/traces" if base else None
        )
        metrics = _env("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") or (
            f"{base}/v1/metrics" if base else None
        )
        if traces is None and metrics is None and enabled:
            base = DEFAULT_BASE
            traces, metrics = f"{base}/v1/traces", f"{base}/v1/metrics"
    return OTLPEndpoints(
        traces=None if traces_off else traces,
        metrics=None if metrics_off else metrics,
        base=base,
        traces_off=traces_off,
    )
