"""``obs.configure()``: one call builds the whole OpenTelemetry pipeline.

Calling it again reconfigures: obs's own SDK providers are replaced behind the swappable
global proxies and the old ones shut down (flushing, stopping their threads); processors obs
added to a provider the user owns are replaced in place.

This module is the orchestration: ``configure()`` reads the arguments and ``OBS_*`` settings
and puts the pieces together, the :class:`Obs` handle, ``force_flush`` and ``shutdown``.
The outputs (the OTLP and store span processors and metric readers) are built in
``_exporters.py``; the providers are installed and retired in ``_provider_setup.py``, which
holds the process state (``_state``). Their names are re-exported here, where they were.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opentelemetry import metrics as metrics_api
from opentelemetry import trace as trace_api
from opentelemetry.sdk.metrics import MeterProvider as SDKMeterProvider
from opentelemetry.sdk.metrics.export import MetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.sdk.trace import TracerProvider as SDKTracerProvider
from opentelemetry.sdk.trace.sampling import ParentBased, Sampler, TraceIdRatioBased

from obs import _alerts, _arguments, _otlp_endpoints, _registry, _settings, _spans
from obs._console import ConsoleProcessor
from obs._export_health import run_bounded, shutdown_timeout_ms
from obs._exporters import (
    _otlp_processors,
    _otlp_span_exporter_class,
    _store_metric_reader,
    _store_path,
    _store_processor,
    without_userinfo,
)
from obs._logging_bridge import stdlib as _logging_stdlib
from obs._metric_scrubbing import scrub_readers
from obs._provider_setup import (
    _configure_metrics,
    _configure_tracing,
    _retire_tracer_provider,
    _span_limits,
    _State,
    _state,
    _tracer_provider_class,
)
from obs._scrubbing import Scrubber, ScrubbingOptions
from obs._settings import LEVELS, PropagationPolicy, Settings, env_flag, parse_level, parse_policy

InstrumentOption = bool | Sequence[str] | Mapping[str, Mapping[str, Any]]


@dataclass
class Obs:
    """What ``configure`` returns: the live configuration, and a handle to flush or stop it.

    Usable as a context manager: ``with obs.configure(...):`` shuts down on exit.
    """

    settings: Settings
    resource: Resource
    tracer_provider: trace_api.TracerProvider
    meter_provider: metrics_api.MeterProvider
    otlp_endpoint: str | None
    store_path: Path | None = None
    instrumented: tuple[str, ...] = ()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return force_flush(timeout_millis)

    def shutdown(self) -> None:
        shutdown()

    def __enter__(self) -> Obs:
        return self

    def __exit__(self, *exc_info: object) -> None:
        shutdown()


def _default_service_name() -> str | None:
    if os.environ.get("OTEL_SERVICE_NAME"):
        return None
    if "service.name=" in os.environ.get("OTEL_RESOURCE_ATTRIBUTES", ""):
        return None
    main = Path(sys.argv[0]).stem if sys.argv and sys.argv[0] not in ("", "-c") else ""
    return main or "python"


def _resource(
    service_name: str | None,
    service_version: str | None,
    environment: str | None,
    extra: Mapping[str, Any] | None,
) -> Resource:
    attributes: dict[str, Any] = dict(extra or {})
    name = service_name or _default_service_name()
    if name:
        attributes["service.name"] = name
    if service_version:
        attributes["service.version"] = service_version
    environment = environment or os.environ.get("OBS_ENVIRONMENT")
    if environment:
        attributes["deployment.environment.name"] = environment
    # Resource.create merges OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME; explicit wins.
    return Resource.create(attributes)


def _scrubbed_resource(resource: Resource, scrubber: Scrubber | None) -> Resource:
    """Resource attributes leave with every span and metric: scrubbed like any attribute."""
    if scrubber is None:
        return resource
    found: list[str] = []
    scrubbed = scrubber.scrub_attributes("resource.", resource.attributes, found)
    return resource if scrubbed is None else Resource(scrubbed, resource.schema_url)


def configure(
    *,
    service_name: str | None = None,
    service_version: str | None = None,
    environment: str | None = None,
    resource_attributes: Mapping[str, Any] | None = None,
    console: bool | None = None,
    console_min_level: str = "info",
    otlp: bool | None = None,
    otlp_endpoint: str | None = None,
    otlp_headers: Mapping[str, str] | None = None,
    store: bool | str | os.PathLike[str] | None = None,
    store_max_age_s: float | None = None,
    store_max_size_mb: float | None = None,
    span_processors: Sequence[SpanProcessor] = (),
    metric_readers: Sequence[MetricReader] = (),
    sample_rate: float | None = None,
    scrubbing: ScrubbingOptions | bool | Sequence[str] = True,
    propagation: PropagationPolicy | str | None = None,
    capture_content: bool | None = None,
    min_level: str | None = None,
    metrics: bool = True,
    baggage_attributes: bool = True,
    tracer_provider: trace_api.TracerProvider | None = None,
    meter_provider: metrics_api.MeterProvider | None = None,
    instrument: InstrumentOption = False,
    logging: bool | str | None = None,
    logging_levels: Mapping[str, str | int] | None = None,
    alerts: _alerts.AlertsOption = None,
    alert_channels: Mapping[str, Any] | None = None,
) -> Obs:
    """Configure tracing, logs-as-spans and metrics for this process. See the README.

    Defaults protect users: scrubbing on, content capture off, propagation ``"trust"``.
    """
    # Checked at the boundary: wrong types name the argument, bad OBS_* values fall back.
    checked = _arguments.configure_arguments(locals())
    propagation, min_level, scrubbing = (
        checked[k] for k in ("propagation", "min_level", "scrubbing")
    )
    sample_rate, store_max_age_s, store_max_size_mb = (
        checked[k] for k in ("sample_rate", "store_max_age_s", "store_max_size_mb")
    )
    with _state.lock:
        # -- settings ---------------------------------------------------------------------
        if propagation is None:
            propagation = os.environ.get("OBS_PROPAGATION") or PropagationPolicy.TRUST
        policy = parse_policy(propagation)
        if capture_content is None:
            capture_content = bool(env_flag("OBS_CAPTURE_CONTENT"))
        level = parse_level(min_level or os.environ.get("OBS_MIN_LEVEL") or "trace")
        if scrubbing is True and env_flag("OBS_SCRUBBING") is False:
            scrubbing = False
        scrubber = (
            None
            if scrubbing is False
            else Scrubber(scrubbing if isinstance(scrubbing, ScrubbingOptions) else None)
        )
        settings = Settings(
            propagation=policy,
            capture_content=capture_content,
            min_level=level,
            min_level_num=LEVELS[level],
            scrubber=scrubber,
            configured=True,
        )

        # -- processors -------------------------------------------------------------------
        endpoints = _otlp_endpoints.resolve(otlp_endpoint, otlp)
        # Spans leave the process (or the user said none should): the local outputs stay quiet.
        otlp_on = endpoints.traces is not None or endpoints.traces_off
        # Checked before anything is built: a bad rule fails here, naming the rule and field.
        alert_config = _alerts.prepare(alerts, alert_channels, _store_path(store, otlp_on))
        processors: list[SpanProcessor] = []
        readers: list[MetricReader] = list(metric_readers)
        if console is None:
            console = env_flag("OBS_CONSOLE")
            if console is None:
                console = not otlp_on  # a newcomer sees output; a shipped service stays quiet
        if console:
            processors.append(ConsoleProcessor(min_level=parse_level(console_min_level)))
        span_processor, metric_reader = _otlp_processors(endpoints, otlp_headers)
        if span_processor is not None:
            processors.append(span_processor)
        if metric_reader is not None:
            readers.append(metric_reader)
        store_path = _store_path(store, otlp_on)
        if store_path is not None:
            # The working directory at configure time, whatever the program does later.
            store_path = store_path.absolute()
        if store_path is not None:
            processors.append(_store_processor(store_path, store_max_age_s, store_max_size_mb))
            if metrics:
                readers.append(_store_metric_reader(store_path, store_max_age_s))
        processors.extend(span_processors)

        resource = _scrubbed_resource(
            _resource(service_name, service_version, environment, resource_attributes), scrubber
        )
        if sample_rate is None and os.environ.get("OBS_SAMPLE_RATE"):
            sample_rate = float(os.environ["OBS_SAMPLE_RATE"])
        sampler: Sampler | None = None
        if sample_rate is not None:
            if not 0.0 <= sample_rate <= 1.0:
                raise ValueError(f"obs: sample_rate must be between 0 and 1, not {sample_rate}")
            sampler = ParentBased(TraceIdRatioBased(sample_rate))
            settings = _with_sample_rate(settings, sample_rate)

        _settings.install(settings)
        tracer_target = _configure_tracing(
            tracer_provider, resource, sampler, processors, scrubber, baggage_attributes
        )
        meter_target = _configure_metrics(meter_provider, metrics, resource, readers)
        if meter_target is _state.meter_provider and _state.owns_meter_provider:
            scrub_readers(readers, scrubber)
        _spans.refresh_tracer()

        if not _state.atexit_registered:
            atexit.register(_shutdown_at_exit)
            _state.atexit_registered = True

        # After the providers: a record logged from here on has somewhere to go.
        _logging_stdlib.install(logging, logging_levels)
        instrumented = _instrument(instrument)
        _alerts.start(alert_config, store_path=store_path, scrubber=scrubber)
        _state.handle = Obs(
            settings=settings,
            resource=resource,
            tracer_provider=tracer_target,
            meter_provider=meter_target,
            otlp_endpoint=endpoints.base if endpoints.traces or endpoints.metrics else None,
            store_path=store_path,
            instrumented=instrumented,
        )
        return _state.handle


def _with_sample_rate(settings: Settings, rate: float) -> Settings:
    # The propagation policy applies the service's own rate to traces a caller marked
    # sampled=0 (a client must not switch the service's telemetry off, nor on past its rate).
    return dataclasses.replace(settings, sample_rate=rate)


def _instrument(option: InstrumentOption) -> tuple[str, ...]:
    return _registry.instrument_option(option)


def current() -> Obs | None:
    """The handle of the last ``configure`` call, if any."""
    return _state.handle


def force_flush(timeout_millis: int = 30_000) -> bool:
    """Export everything buffered now (e.g. before a serverless function returns).

    Returns within ``timeout_millis`` (spans first, metrics with what is left), and False when
    something could not be delivered in that time.
    """
    deadline = time.monotonic() + timeout_millis / 1000
    ok = True
    provider = _state.tracer_provider
    if isinstance(provider, SDKTracerProvider):
        ok = provider.force_flush(timeout_millis) and ok
    meter = _state.meter_provider
    if isinstance(meter, SDKMeterProvider):
        remaining = max(0.0, (deadline - time.monotonic()) * 1000)
        # The metric exporter waits for its own timeout, not ours: bound it here.
        ok = run_bounded(lambda: meter.force_flush(remaining), remaining / 1000) and ok
    return ok


def shutdown() -> None:
    """Flush and stop obs's exporters; telemetry after this is dropped until reconfigured."""
    with _state.lock:
        _alerts.stop()
        started = time.monotonic()
        if _state.tracer_provider is not None:
            _retire_tracer_provider(_state.tracer_provider, _state.owns_tracer_provider)
            _state.tracer_provider = None
        if _state.tracer_proxy is not None:
            _state.tracer_proxy.swap(trace_api.NoOpTracerProvider())
        if _state.meter_provider is not None:
            if _state.owns_meter_provider and isinstance(_state.meter_provider, SDKMeterProvider):
                # One budget for the whole shutdown: metrics get what the spans left.
                spent_ms = (time.monotonic() - started) * 1000
                budget_ms = max(500.0, shutdown_timeout_ms() - spent_ms)
                provider = _state.meter_provider

                def stop_metrics() -> bool:
                    provider.shutdown(timeout_millis=budget_ms)
                    return True

                run_bounded(stop_metrics, budget_ms / 1000)
            _state.meter_provider = None
        if _state.meter_proxy is not None:
            _state.meter_proxy.swap(metrics_api.NoOpMeterProvider())
        _state.handle = None
        _logging_stdlib.uninstall()
        _settings.install(Settings(scrubber=Scrubber()))


def _shutdown_at_exit() -> None:
    with contextlib.suppress(Exception):  # interpreter teardown: nothing left to tell
        shutdown()


# Moved to _exporters / _provider_setup; still importable from here.
__all__ = [
    "InstrumentOption",
    "Obs",
    "_State",
    "_configure_metrics",
    "_configure_tracing",
    "_otlp_processors",
    "_otlp_span_exporter_class",
    "_retire_tracer_provider",
    "_span_limits",
    "_state",
    "_store_metric_reader",
    "_store_path",
    "_store_processor",
    "_tracer_provider_class",
    "configure",
    "current",
    "force_flush",
    "shutdown",
    "without_userinfo",
]
