"""What integration packages build on: the shared mechanics, in one place.

An integration subclasses :class:`Integration` and only translates host events into obs
calls. From here it gets:

- the options contract: a frozen dataclass subclassing :class:`IntegrationOptions`, parsed and
  type-checked before ``_instrument`` runs (:class:`OptionsError` otherwise), whose base fields
  are the overrides every integration has (``capture_content``, ``propagation``,
  ``tracer_provider``, ``meter_provider``) with their resolution (``options.capture()``,
  ``options.policy()``, ``options.tracer(scope)``, ``options.meter(scope)``);
- one span per outgoing call: ``suppress_http_client_spans()`` around a request an integration
  records itself, ``http_client_spans_suppressed()`` for an HTTP client integration to ask;
- patching: ``self.wrap(owner, attribute, wrapper)`` (a :class:`Patch`, undone exactly on
  ``uninstrument``, never clobbering a wrapper someone put over it);
- :func:`live_instances`, to instrument the host objects made before obs was switched on;
- :class:`BoundHistograms`: a histogram whose attribute sets repeat (method, route, status),
  recorded per set without the SDK's per-record work (same collected data);
- :func:`current_span`, :func:`attach_span` and :func:`detach`: the current span read, and a
  span made current and the context restored, without the API's layers of calls (through
  the API when the runtime context is not the default one);
- its tracer and meter, context extraction and injection through the propagation policy, safe
  attribute conversion, exception recording, so every integration records things alike;
- context handling without the API's layers (``context_with_span``, ``attach_context`` /
  ``detach``, ``baggage_entries``), for hooks that run per request or message.

The README's "Writing an integration" walks through a new one.
"""

from __future__ import annotations

from opentelemetry import metrics as metrics_api
from opentelemetry import trace as trace_api

from obs._attributes import MAX_STRING_LENGTH, to_attribute_value, to_attributes, truncate
from obs._bound_metrics import BoundHistogram, BoundHistograms
from obs._cache import BoundedCache
from obs._diagnostics import internal_error, logger, warn_once
from obs._errors import describe, error_type, record_exception
from obs._hosts import live_instances
from obs._integration import Integration
from obs._lazy import lazy_exports
from obs._lean.context import (
    SPAN_KEY,
    attach_span,
    baggage_entries,
    context_var,
    current_span,
    detach,
)
from obs._lean.context import attach as attach_context
from obs._lean.context import with_span as context_with_span
from obs._options import IntegrationOptions, OptionsError
from obs._patching import Patch, wrap
from obs._propagation import Incoming, extract, header_getter, inject
from obs._registry import get as find_integration
from obs._scrubbing import REPLACEMENT, declare_identifier_keys
from obs._settings import PropagationPolicy, parse_policy
from obs._settings import current as settings
from obs._suppression import (
    client_call_context,
    http_client_spans_suppressed,
    suppress_http_client_spans,
)


def get_tracer(
    scope: str, version: str | None = None, provider: trace_api.TracerProvider | None = None
) -> trace_api.Tracer:
    """The integration's tracer: from ``provider`` if given, else the global one.

    ``scope`` is ``obs.<integration>``; ``version`` the distribution's version.
    """
    if provider is not None:
        return provider.get_tracer(scope, version)
    return trace_api.get_tracer(scope, version)


def get_meter(
    scope: str, version: str | None = None, provider: metrics_api.MeterProvider | None = None
) -> metrics_api.Meter:
    if provider is not None:
        return provider.get_meter(scope, version)
    return metrics_api.get_meter(scope, version or "")


def flush() -> bool:
    """Export what is buffered, bounded by obs's shutdown budget (``OBS_SHUTDOWN_TIMEOUT_S``).

    For a host's own graceful stop (an ASGI lifespan shutdown, a worker's stop): some servers
    end the process with the signal they caught, after which interpreter-exit hooks never run.
    """
    from obs._config import force_flush
    from obs._export_health import shutdown_timeout_ms

    try:
        return force_flush(int(shutdown_timeout_ms()))
    except Exception as exc:
        internal_error("flush", exc)
        return False


def secret_name(name: str) -> str | None:
    """The scrubbing pattern ``name`` matches (``"password"``), or None; None when scrubbing is off.

    For content an integration restructures before recording (e.g. a validation error whose
    field name is only in its location), so a value can be scrubbed by the name it belongs to.
    """
    scrubber = settings().scrubber
    return scrubber.key_pattern(name) if scrubber is not None else None


def scrubbed_marker(pattern: str) -> str:
    return REPLACEMENT.format(pattern)


def distribution_version(distribution: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "0.0.0"


__all__ = [
    "MAX_STRING_LENGTH",
    "SPAN_KEY",
    "BoundHistogram",
    "BoundHistograms",
    "BoundedCache",
    "Incoming",
    "Integration",
    "IntegrationOptions",
    "OptionsError",
    "Patch",
    "PropagationPolicy",
    "attach_context",
    "attach_span",
    "baggage_entries",
    "client_call_context",
    "context_var",
    "context_with_span",
    "current_span",
    "declare_identifier_keys",
    "describe",
    "detach",
    "distribution_version",
    "error_type",
    "extract",
    "find_integration",
    "flush",
    "get_meter",
    "get_tracer",
    "header_getter",
    "http_client_spans_suppressed",
    "inject",
    "internal_error",
    "lazy_exports",
    "live_instances",
    "logger",
    "parse_policy",
    "record_exception",
    "scrubbed_marker",
    "secret_name",
    "settings",
    "suppress_http_client_spans",
    "to_attribute_value",
    "to_attributes",
    "truncate",
    "warn_once",
    "wrap",
]
