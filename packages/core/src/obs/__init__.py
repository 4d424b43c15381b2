"""obs: one-call OpenTelemetry for Python services.

Users import from here only; the modules behind it are private. Integration authors also use
``obs.instrumentation``; tests use ``obs.testing``.
"""

from __future__ import annotations

from opentelemetry import metrics as _metrics_api
from opentelemetry import trace as _trace_api

from obs._alerts import AlertRule, ConsoleChannel, SlackWebhook, Webhook, alert_status
from obs._baggage import baggage, get_baggage
from obs._config import Obs, configure, force_flush, shutdown
from obs._integration import Integration
from obs._logging_bridge.loguru import LoguruSink, loguru_sink
from obs._logging_bridge.stdlib import LogHandler
from obs._logging_bridge.structlog import StructlogProcessor
from obs._logs import debug, error, exception, fatal, info, notice, trace, trace_log, warn
from obs._metrics import counter, gauge, histogram, up_down_counter
from obs._propagation import extract_context as extract
from obs._propagation import inject
from obs._registry import IntegrationInfo, instrument, integrations, uninstrument
from obs._scrubbing import ScrubbingOptions, ScrubMatch
from obs._settings import PropagationPolicy, Settings
from obs._settings import current as settings
from obs._spans import span, traced
from obs._version import VERSION as __version__


def tracer(name: str, version: str | None = None) -> _trace_api.Tracer:
    """A tracer from the global provider (obs's, or the one the user installed)."""
    return _trace_api.get_tracer(name, version)


def meter(name: str, version: str | None = None) -> _metrics_api.Meter:
    """A meter from the global provider (obs's, or the one the user installed)."""
    return _metrics_api.get_meter(name, version or "")


__all__ = [
    "AlertRule",
    "ConsoleChannel",
    "Integration",
    "IntegrationInfo",
    "LogHandler",
    "LoguruSink",
    "Obs",
    "PropagationPolicy",
    "ScrubMatch",
    "ScrubbingOptions",
    "Settings",
    "SlackWebhook",
    "StructlogProcessor",
    "Webhook",
    "__version__",
    "alert_status",
    "baggage",
    "configure",
    "counter",
    "debug",
    "error",
    "exception",
    "extract",
    "fatal",
    "force_flush",
    "gauge",
    "get_baggage",
    "histogram",
    "info",
    "inject",
    "instrument",
    "integrations",
    "loguru_sink",
    "meter",
    "notice",
    "settings",
    "shutdown",
    "span",
    "trace",
    "trace_log",
    "traced",
    "tracer",
    "uninstrument",
    "up_down_counter",
    "warn",
]
