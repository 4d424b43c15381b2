"""Installing obs's tracer and meter providers behind the global proxies, and retiring them.

The process-wide state of obs's configuration (:data:`_state`) lives here: which providers are
in use, whether obs owns them, and the processor pipeline obs added to each SDK provider.
Reconfiguring swaps obs's own providers behind the proxies and shuts the old ones down; a
provider the user owns keeps its place and only has obs's processors replaced.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

from opentelemetry import metrics as metrics_api
from opentelemetry import trace as trace_api
from opentelemetry.sdk.metrics import MeterProvider as SDKMeterProvider
from opentelemetry.sdk.metrics.export import MetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanLimits, SpanProcessor
from opentelemetry.sdk.trace import TracerProvider as SDKTracerProvider
from opentelemetry.sdk.trace.sampling import Sampler

from obs._attributes import MAX_STRING_LENGTH
from obs._diagnostics import logger
from obs._export_health import shutdown_timeout_ms
from obs._pipeline import Pipeline
from obs._providers import SwappableMeterProvider, SwappableTracerProvider
from obs._scrubbing import Scrubber
from obs._settings import env_flag

if TYPE_CHECKING:
    from obs._config import Obs


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
