"""The overrides every integration takes, resolved the same way for each."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import obs
from obs.testing import Capture
from tests.architecture.hosts import HOSTS, Host


@pytest.mark.parametrize("host", HOSTS, ids=lambda h: h.name)
def test_tracer_provider_override(host: Host, obs_capture: Capture) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    [info] = obs.instrument(host.name, tracer_provider=provider)
    assert info.status == "instrumented", info.detail
    assert [n for n in host.exercise(obs_capture, False) if not n.startswith("native:")] == []
    names = [s.name for s in exporter.get_finished_spans()]
    if host.name == "burr":  # the call span is named after the application
        names = [n.split(" ")[0] if n.startswith("invoke_workflow") else n for n in names]
    assert sorted(names) == sorted(host.expected)


@pytest.mark.parametrize("host", HOSTS, ids=lambda h: h.name)
def test_meter_provider_override(host: Host, obs_capture: Capture) -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    obs.instrument(host.name, meter_provider=provider)
    host.exercise(obs_capture, False)
    data = reader.get_metrics_data()
    mine = {
        metric.name
        for resource in (data.resource_metrics if data else ())
        for scope in resource.scope_metrics
        for metric in scope.metrics
    }
    assert mine, f"{host.name} recorded no metric through the given meter provider"
    # Nothing of this operation through the global provider. (Observable message counters
    # made by earlier tests on the global meter keep reporting their totals there: only
    # what is recorded per operation, the durations, is compared.)
    durations = {name for name in mine if name.endswith("duration")}
    assert durations
    assert durations.isdisjoint(obs_capture.metrics())
