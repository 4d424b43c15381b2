"""``obs.configure()``: one call builds the whole OpenTelemetry pipeline.

Calling it again reconfigures: obs's own SDK providers are replaced behind the swappable
global proxies and the old ones shut down (flushing, stopping their threads); processors obs
added to a provider the user owns are replaced in place.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import os
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from opentelemetry import metrics as metrics_api
from opentelemetry import trace as trace_api
from opentelemetry.sdk.metrics import MeterProvider as SDKMeterProvider
from opentelemetry.sdk.metrics.export import MetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanLimits, SpanProcessor
from opentelemetry.sdk.trace import TracerProvider as SDKTracerProvider
from opentelemetry.sdk.trace.sampling import ParentBased, Sampler, TraceIdRatioBased

from obs import _alerts, _arguments, _otlp_endpoints, _registry, _settings, _spans
from obs._attributes import MAX_STRING_LENGTH
from obs._console import ConsoleProcessor
from obs._diagnostics import logger
from obs._export_health import (
    BoundedBatchSpanProcessor,
    ReportingSpanExporter,
    quiet_opentelemetry_repeats,
    run_bounded,
    shutdown_timeout_ms,
)
from obs._logging_bridge import stdlib as _logging_stdlib
from obs._metric_scrubbing import scrub_readers
from obs._pipeline import Pipeline
from obs._providers import SwappableMeterProvider, SwappableTracerProvider
from obs._scrubbing import Scrubber, ScrubbingOptions
from obs._settings import LEVELS, PropagationPolicy, Settings, env_flag, parse_level, parse_policy
from obs._store import (
    DEFAULT_MAX_AGE_S,
    DEFAULT_MAX_SIZE_MB,
    STORE_QUEUE_SIZE,
    StoreExporter,
    resolve_path,
)

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


class _State:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.tracer_proxy: SwappableTracerProvider | None = None
        self.meter_proxy: SwappableMeterProvider | None = None
        self.tracer_provider: trace_api.TracerProvider | None = None
        self.owns_tracer_provider = False
        self.meter_provider: metrics_api.MeterProvider | None = None
        self.owns_meter_provider = False
        self.pipelines: dict[int, Pipeline] = {}  # id(provider) -> the pipeline obs added
        self.atexit_registered = False
        self.handle: Obs | None = None


_state = _State()


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


def without_userinfo(url: str) -> str:
    """``url`` without ``user:password@``: what obs prints or labels a metric with."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "OTLP endpoint"
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def _otlp_processors(
    endpoints: _otlp_endpoints.OTLPEndpoints, headers: Mapping[str, str] | None
) -> tuple[SpanProcessor | None, MetricReader | None]:
    """The OTLP span processor and metric reader, each only where its signal has an endpoint."""
    if endpoints.traces is None and endpoints.metrics is None:
        return None, None
    # Imported here: the exporter pulls in protobuf and requests, which a user without OTLP
    # should not pay for at import time.
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    header_map = dict(headers) if headers else None
    quiet_opentelemetry_repeats()
    processor: SpanProcessor | None = None
    reader: MetricReader | None = None
    if endpoints.traces is not None:
        span_exporter = _otlp_span_exporter_class()(endpoint=endpoints.traces, headers=header_map)
        label = without_userinfo(endpoints.base or endpoints.traces)
        processor = BoundedBatchSpanProcessor(
            ReportingSpanExporter(span_exporter, label), label=label
        )
    if endpoints.metrics is not None:
        from obs._otlp_metrics import GuardedMetricExporter

        reader = PeriodicExportingMetricReader(GuardedMetricExporter(endpoints.metrics, header_map))
    return processor, reader


def _otlp_span_exporter_class() -> type[Any]:
    """The SDK's OTLP span exporter with obs's encoder (same bytes), unless ``OBS_FAST_OTLP=0``."""
    if env_flag("OBS_FAST_OTLP") is False:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter
    from obs._otlp.exporter import FastOTLPSpanExporter

    return FastOTLPSpanExporter


def _store_path(option: bool | str | os.PathLike[str] | None, otlp_on: bool) -> Path | None:
    """Where the local store is, or None when it is off.

    Default: on (``.obs/spans.db``) when spans are not sent over OTLP. ``OBS_STORE`` may say
    ``off``/``on`` or give a path.
    """
    if option is None:
        env = (os.environ.get("OBS_STORE") or "").strip()
        if env.lower() in ("0", "false", "off", "no"):
            return None
        if env and env.lower() not in ("1", "true", "on", "yes"):
            return Path(env)
        if env:
            return resolve_path(None)
        return None if otlp_on else resolve_path(None)
    if option is False:
        return None
    if option is True:
        return resolve_path(None)
    return Path(option)


def _store_processor(
    path: Path, max_age_s: float | None, max_size_mb: float | None
) -> SpanProcessor:
    exporter = StoreExporter(
        path,
        max_age_s=max_age_s or float(os.environ.get("OBS_STORE_MAX_AGE_S") or DEFAULT_MAX_AGE_S),
        max_size_mb=max_size_mb
        or float(os.environ.get("OBS_STORE_MAX_SIZE_MB") or DEFAULT_MAX_SIZE_MB),
    )
    # Short delay: a person running `obs traces` right after a request expects to see it.
    # Reporting: store write failures are counted and said like OTLP's, by exporter.
    label = f"store {path}"
    # A bigger queue than the SDK's 2048 unless OTEL_BSP_MAX_QUEUE_SIZE says otherwise: writers
    # of one store take turns on its lock, and a turn can take seconds on a busy machine.
    queue = int(os.environ.get("OTEL_BSP_MAX_QUEUE_SIZE") or STORE_QUEUE_SIZE)
    return BoundedBatchSpanProcessor(
        ReportingSpanExporter(exporter, label),
        schedule_delay_millis=500,
        max_queue_size=queue,
        label=label,
    )


def _store_metric_reader(path: Path, max_age_s: float | None) -> MetricReader:
    """Metrics go into the store too (a ``metrics`` table), so they are seen without OTLP."""
    from obs._metric_store import store_metric_reader

    return store_metric_reader(
        path,
        max_age_s=max_age_s or float(os.environ.get("OBS_STORE_MAX_AGE_S") or DEFAULT_MAX_AGE_S),
    )


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


def _configure_tracing(
    explicit: trace_api.TracerProvider | None,
    resource: Resource,
    sampler: Sampler | None,
    processors: list[SpanProcessor],
    scrubber: Scrubber | None,
    baggage_attributes: bool,
) -> trace_api.TracerProvider:
    current_global = trace_api.get_tracer_provider()
    ours = current_global if isinstance(current_global, SwappableTracerProvider) else None
    unset = isinstance(current_global, trace_api.ProxyTracerProvider)

    owned = False
    if explicit is not None:
        target = explicit
    elif ours is None and not unset:
        # Someone installed a provider before us: adopt it rather than fight over the global.
        target = current_global
        logger.info(
            "obs: adopting the tracer provider already installed (%s)", type(target).__name__
        )
    else:
        target = _tracer_provider_class()(
            resource=resource, sampler=sampler, shutdown_on_exit=False, span_limits=_span_limits()
        )
        owned = True

    previous, previous_owned = _state.tracer_provider, _state.owns_tracer_provider
    if isinstance(target, SDKTracerProvider):
        pipeline = _state.pipelines.get(id(target))
        if pipeline is None:
            pipeline = Pipeline()
            target.add_span_processor(pipeline)
            _state.pipelines[id(target)] = pipeline
        for old in pipeline.replace(processors, scrubber, baggage_attributes):
            if old not in processors:
                old.shutdown()
    elif processors:
        logger.warning(
            "obs: the tracer provider in use (%s) is not an OpenTelemetry SDK provider; obs "
            "cannot add its processors (console, OTLP, ...) to it",
            type(target).__name__,
        )

    if unset:
        _state.tracer_proxy = SwappableTracerProvider(target)
        trace_api.set_tracer_provider(_state.tracer_proxy)
    elif ours is not None:
        ours.swap(target)
        _state.tracer_proxy = ours

    _state.tracer_provider, _state.owns_tracer_provider = target, owned
    if previous is not None and previous is not target:
        _retire_tracer_provider(previous, previous_owned)
    return target


def _tracer_provider_class() -> type[SDKTracerProvider]:
    """obs's lean provider (an SDK provider making cheaper spans), unless ``OBS_LEAN_SPANS=0``."""
    if env_flag("OBS_LEAN_SPANS") is False:
        return SDKTracerProvider
    from obs._lean import LeanTracerProvider

    return LeanTracerProvider


def _span_limits() -> SpanLimits:
    """Every attribute value bounded (client-controlled paths, queries, ids included).

    OpenTelemetry leaves value length unlimited by default; obs applies its documented limit
    unless ``OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`` / ``OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT``
    says otherwise (SpanLimits reads those when given None).
    """
    configured = os.environ.get("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT") or os.environ.get(
        "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT"
    )
    return SpanLimits(max_attribute_length=None if configured else MAX_STRING_LENGTH)


def _retire_tracer_provider(provider: trace_api.TracerProvider, owned: bool) -> None:
    pipeline = _state.pipelines.pop(id(provider), None)
    if owned and isinstance(provider, SDKTracerProvider):
        provider.shutdown()  # flushes, stops export threads
    elif pipeline is not None:
        for old in pipeline.replace((), None, False):
            old.shutdown()
        # The pipeline object stays in the user's provider, now empty and inert.


def _configure_metrics(
    explicit: metrics_api.MeterProvider | None,
    enabled: bool,
    resource: Resource,
    readers: list[MetricReader],
) -> metrics_api.MeterProvider:
    current_global = metrics_api.get_meter_provider()
    ours = current_global if isinstance(current_global, SwappableMeterProvider) else None
    unset = type(current_global).__name__ == "_ProxyMeterProvider"

    owned = False
    if not enabled:
        target: metrics_api.MeterProvider = metrics_api.NoOpMeterProvider()
    elif explicit is not None:
        target = explicit
    elif ours is None and not unset:
        target = current_global
        if readers:
            logger.warning(
                "obs: a meter provider was installed before obs.configure(); obs uses it and "
                "cannot add metric readers (OTLP, testing) to it"
            )
    else:
        target = SDKMeterProvider(resource=resource, metric_readers=readers, shutdown_on_exit=False)
        owned = True

    if unset:
        _state.meter_proxy = SwappableMeterProvider(target)
        metrics_api.set_meter_provider(_state.meter_proxy)
    elif ours is not None:
        ours.swap(target)

    previous, previous_owned = _state.meter_provider, _state.owns_meter_provider
    _state.meter_provider, _state.owns_meter_provider = target, owned
    if previous_owned and previous is not target and isinstance(previous, SDKMeterProvider):
        previous.shutdown(timeout_millis=shutdown_timeout_ms())
    return target


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
