"""obs: one-call OpenTelemetry for Python services.

Users import from here only; the modules behind it are private. Integration authors also use
``obs.instrumentation``; tests use ``obs.testing``.

Every name is imported on first use (PEP 562, ``obs._lazy``): ``import obs`` stays cheap, and
the ``obs`` command's store queries (whose modules live under this package) do not load the
OpenTelemetry SDK. After its first use a name is a plain module attribute.
"""

from __future__ import annotations

from obs._lazy import lazy_dir, lazy_exports
from obs._records import TYPE_CHECKING

if TYPE_CHECKING:
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
    from obs._tracer_meter import meter, tracer
    from obs._version import VERSION as __version__

# Each public name and where it lives ("module:attribute" when it is exported under another name).
_EXPORTS = {
    "AlertRule": "obs._alerts",
    "ConsoleChannel": "obs._alerts",
    "SlackWebhook": "obs._alerts",
    "Webhook": "obs._alerts",
    "alert_status": "obs._alerts",
    "baggage": "obs._baggage",
    "get_baggage": "obs._baggage",
    "Obs": "obs._config",
    "configure": "obs._config",
    "force_flush": "obs._config",
    "shutdown": "obs._config",
    "Integration": "obs._integration",
    "LoguruSink": "obs._logging_bridge.loguru",
    "loguru_sink": "obs._logging_bridge.loguru",
    "LogHandler": "obs._logging_bridge.stdlib",
    "StructlogProcessor": "obs._logging_bridge.structlog",
    "debug": "obs._logs",
    "error": "obs._logs",
    "exception": "obs._logs",
    "fatal": "obs._logs",
    "info": "obs._logs",
    "notice": "obs._logs",
    "trace": "obs._logs",
    "trace_log": "obs._logs",
    "warn": "obs._logs",
    "counter": "obs._metrics",
    "gauge": "obs._metrics",
    "histogram": "obs._metrics",
    "up_down_counter": "obs._metrics",
    "extract": "obs._propagation:extract_context",
    "inject": "obs._propagation",
    "IntegrationInfo": "obs._registry",
    "instrument": "obs._registry",
    "integrations": "obs._registry",
    "uninstrument": "obs._registry",
    "ScrubbingOptions": "obs._scrubbing",
    "ScrubMatch": "obs._scrubbing",
    "PropagationPolicy": "obs._settings",
    "Settings": "obs._settings",
    "settings": "obs._settings:current",
    "span": "obs._spans",
    "traced": "obs._spans",
    "meter": "obs._tracer_meter",
    "tracer": "obs._tracer_meter",
    "__version__": "obs._version:VERSION",
}

if not TYPE_CHECKING:  # type checkers see the imports above, and no catch-all __getattr__
    __getattr__ = lazy_exports(__name__, _EXPORTS)
    __dir__ = lazy_dir(__name__, _EXPORTS)


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
