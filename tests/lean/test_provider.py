"""The lean provider as obs installs it, and as the SDK behaves: threads, queues, forks."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

import pytest
from opentelemetry import trace as trace_api
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

import obs
from obs import _config
from obs._export_health import BoundedBatchSpanProcessor
from obs._lean import LeanSpan, LeanTracerProvider, lean_status
from obs._otlp.exporter import FastOTLPSpanExporter
from obs.testing import Capture
from obs.testing.otlp import OTLPReceiver
from tests.lean.twins import Collect


@pytest.fixture
def capture(obs_capture: Capture) -> Capture:
    return obs_capture


def test_configure_installs_the_lean_provider(capture: Capture) -> None:
    assert isinstance(_config._state.tracer_provider, LeanTracerProvider)
    assert lean_status(trace_api.get_tracer("any")) == "lean"
    with obs.span("hello {who}", who="world"):
        obs.info("inside")
    capture.flush()
    spans = capture.spans
    assert {type(s) for s in spans} == {LeanSpan}
    log, span = spans
    assert log.parent is not None
    assert log.parent.span_id == span.context.span_id
    assert span.attributes is not None
    assert span.attributes["obs.msg"] == "hello world"


def test_obs_pipeline_scrubs_and_adds_baggage_on_lean_spans(capture: Capture) -> None:
    with obs.baggage(tenant="acme"), obs.span("login", password="hunter2", user="ada"):
        pass
    capture.flush()
    (span,) = capture.spans
    attributes = dict(span.attributes or {})
    assert attributes["password"] != "hunter2"
    assert attributes["tenant"] == "acme"
    assert "password" in attributes["obs.scrubbed"]


def test_opt_out_gives_sdk_spans(monkeypatch: pytest.MonkeyPatch, capture: Capture) -> None:
    monkeypatch.setenv("OBS_LEAN_SPANS", "0")
    capture.configure()
    assert type(_config._state.tracer_provider) is TracerProvider
    with obs.span("plain"):
        pass
    capture.flush()
    assert not isinstance(capture.spans[0], LeanSpan)


def test_explicit_and_adopted_providers_are_left_as_they_are(capture: Capture) -> None:
    mine = TracerProvider(shutdown_on_exit=False)
    capture.configure(tracer_provider=mine)
    with obs.span("on the user's provider"):
        pass
    capture.flush()
    assert not isinstance(capture.spans[0], LeanSpan)
    assert lean_status(trace_api.get_tracer("x")).startswith("not a lean tracer")


def test_sdk_disabled_gives_no_op_tracers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    provider = LeanTracerProvider(shutdown_on_exit=False)
    tracer = provider.get_tracer("x")
    assert isinstance(tracer, trace_api.NoOpTracer)
    assert not tracer.start_span("nothing").is_recording()


def test_internal_span_metrics_turn_the_lean_path_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED", "true")
    provider = LeanTracerProvider(shutdown_on_exit=False)
    tracer = provider.get_tracer("x")
    status = lean_status(tracer)
    if hasattr(tracer, "_tracer_metrics"):
        assert status == "the SDK's internal span metrics are on"
        assert type(tracer.start_span("s")).__name__ == "_Span"
    else:  # an SDK release without internal span metrics: nothing to honour
        assert status == "lean"


def test_user_processors_see_lean_spans_start_and_end() -> None:
    provider = LeanTracerProvider(shutdown_on_exit=False)
    collect = Collect()
    provider.add_span_processor(collect)
    tracer = provider.get_tracer("x")
    tracer.start_span("one").end()
    late = Collect()
    provider.add_span_processor(late)  # added after the tracer was made
    tracer.start_span("two").end()
    assert collect.started == ["one", "two"]
    assert [s.name for s in collect.spans] == ["one", "two"]
    assert late.started == ["two"]
    assert [s.name for s in late.spans] == ["two"]


def test_unsampled_spans_are_not_recording() -> None:
    provider = LeanTracerProvider(sampler=ALWAYS_OFF, shutdown_on_exit=False)
    collect = Collect()
    provider.add_span_processor(collect)
    span = provider.get_tracer("x").start_span("dropped")
    assert not span.is_recording()
    assert span.get_span_context().is_valid
    span.end()
    assert collect.spans == []


def test_end_from_many_threads_ends_once(caplog: pytest.LogCaptureFixture) -> None:
    provider = LeanTracerProvider(shutdown_on_exit=False)
    collect = Collect()
    provider.add_span_processor(collect)
    tracer = provider.get_tracer("threads")
    spans = [tracer.start_span(f"s{i}") for i in range(50)]
    barrier = threading.Barrier(8)

    def end_all() -> None:
        barrier.wait()
        for span in spans:
            span.end()
            span.set_attribute("late", 1)

    with caplog.at_level(logging.WARNING, "opentelemetry.sdk.trace"):
        threads = [threading.Thread(target=end_all) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(s.name for s in collect.spans) == sorted(f"s{i}" for i in range(50))
    ended_twice = [r for r in caplog.records if r.getMessage() == "Calling end() on an ended span."]
    assert len(ended_twice) == 50 * 7
    assert all(not s.attributes for s in collect.spans)


class Blocked(SpanExporter):
    """Blocks the export thread until released, so the queue fills."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.exported = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.release.wait(10)
        self.exported += len(spans)
        return SpanExportResult.SUCCESS


@pytest.mark.parametrize("provider_class", [TracerProvider, LeanTracerProvider])
def test_queue_full_drops_are_counted_as_for_sdk_spans(provider_class: type[Any]) -> None:
    exporter = Blocked()
    processor = BoundedBatchSpanProcessor(
        exporter, max_queue_size=20, max_export_batch_size=5, schedule_delay_millis=10
    )
    provider = provider_class(shutdown_on_exit=False)
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("queue")
    tracer.start_span("first").end()
    time.sleep(0.2)  # the export thread takes the first batch and blocks on it
    for i in range(100):
        tracer.start_span(f"s{i}").end()
    dropped = processor.queue_dropped
    exporter.release.set()
    processor.force_flush(5000)
    processor.shutdown()
    assert dropped + exporter.exported == 101
    assert 70 <= dropped <= 80


FORK_CHILD = """
import os, sys
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace import TracerProvider
from obs._export_health import BoundedBatchSpanProcessor
from obs._lean import LeanTracerProvider

class ToPipe(SpanExporter):
    def __init__(self, fd, label): self.fd, self.label = fd, label
    def export(self, spans):
        for s in spans:
            pid = s.resource.attributes.get("process.pid", "-")
            os.write(self.fd, f"{os.getpid()} {self.label} {s.name} {pid}\\n".encode())
        return SpanExportResult.SUCCESS

read, write = os.pipe()
providers = [
    cls(shutdown_on_exit=False) for cls in (TracerProvider, LeanTracerProvider, LeanTracerProvider)
]
# "obs": obs's own batch processor, which queues without the SDK's per-span getpid
for p, label in zip(providers, ("sdk", "lean", "obs")):
    batch = BoundedBatchSpanProcessor if label == "obs" else BatchSpanProcessor
    p.add_span_processor(batch(ToPipe(write, label), schedule_delay_millis=10))
    p.get_tracer("f").start_span("parent").end()
    p.force_flush()
pid = os.fork()
if pid == 0:
    for p in providers:
        p.get_tracer("f").start_span("child").end()
        p.force_flush()
    os._exit(0)
os.waitpid(pid, 0)
os.close(write)
data = b""
while chunk := os.read(read, 65536):
    data += chunk
sys.stdout.write(data.decode())
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_behaves_as_for_sdk_spans(tmp_path: Any) -> None:
    import subprocess

    script = tmp_path / "fork_child.py"
    script.write_text(FORK_CHILD)
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=True
    ).stdout.split("\n")
    rows = [line.split() for line in out if line]
    by_kind = {(kind, name): (pid, resource_pid) for pid, kind, name, resource_pid in rows}
    # The child's spans are exported by the child, with the resource the SDK updates on fork.
    sdk_child, lean_child = by_kind["sdk", "child"], by_kind["lean", "child"]
    assert sdk_child[0] == lean_child[0] == by_kind["obs", "child"][0]
    assert sdk_child[1] == lean_child[1] == by_kind["obs", "child"][1]
    assert by_kind["sdk", "parent"][1] == by_kind["lean", "parent"][1]
    assert sdk_child[0] != by_kind["sdk", "parent"][0]  # exported by the child process


def test_obs_otlp_export_uses_the_fast_encoder_and_keeps_health_accounting() -> None:
    with OTLPReceiver() as receiver:
        handle = obs.configure(otlp_endpoint=receiver.endpoint, console=False, store=False)
        try:
            with obs.span("exported", n=1):
                pass
            assert handle.force_flush(5000)
            names = [s.name for s in receiver.spans()]
            assert "exported" in names
            processor = _config._state.pipelines[id(handle.tracer_provider)].processors[0]
            reporting: Any = processor._exporter_ref  # type: ignore[attr-defined]
            assert isinstance(reporting.inner, FastOTLPSpanExporter)
            assert reporting.inner.encoder_in_use == "obs"
            assert reporting.inner.fallbacks == 0
            receiver.status = 500
            with obs.span("lost"):
                pass
            handle.force_flush(3000)
            assert reporting.dropped >= 1
        finally:
            obs.shutdown()
