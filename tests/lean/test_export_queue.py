"""obs's batch processor: spans queued as they are, scrubbed on the export thread.

The application's thread only queues a span (``BoundedBatchSpanProcessor.on_end``, the SDK's
queueing step without its per-span ``getpid``); the scrubber runs on the export thread just
before the exporter (``ScrubbingSpanExporter``). Every exporter still sees scrubbed spans
only, a span the scrubber fails on is dropped and counted, and every SDK behaviour the fast
path skips (fork, shutdown, a full queue) still holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import NonRecordingSpan

import obs
from obs import _config
from obs._export_health import BoundedBatchSpanProcessor, ScrubbingSpanExporter, _FastHandOff
from obs._lean import LeanTracerProvider
from obs._pipeline import Pipeline
from obs._scrubbing import Scrubber

SECRET = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"


class Keep(SpanExporter):
    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []
        self.threads: set[int] = set()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        import threading

        self.threads.add(threading.get_ident())
        self.spans.extend(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


def _pipeline(handle: obs.Obs) -> Pipeline:
    return _config._state.pipelines[id(handle.tracer_provider)]


def test_obs_processors_queue_raw_spans_and_every_exporter_sees_them_scrubbed() -> None:
    import threading

    keep = Keep()
    queued = BoundedBatchSpanProcessor(keep, schedule_delay_millis=10, label="keep")
    memory = InMemorySpanExporter()
    direct = SimpleSpanProcessor(memory)  # a user's processor: looks at the span at once
    handle = obs.configure(console=False, otlp=False, store=False, span_processors=[queued, direct])
    try:
        pipeline = _pipeline(handle)
        assert pipeline.queueing == (queued,)
        assert pipeline.direct == (direct,)
        with obs.span("charge", api_key=SECRET, note=f"paid with {SECRET}"):
            pass
        assert handle.force_flush(5000)
        for span in [*keep.spans, *memory.get_finished_spans()]:
            assert span.name == "charge"
            attributes = dict(span.attributes or {})
            assert SECRET not in repr(attributes), attributes
            assert "obs.scrubbed" in attributes
        assert len(keep.spans) == 1
        assert len(memory.get_finished_spans()) == 1
        assert threading.get_ident() not in keep.threads  # scrubbed on the export thread
    finally:
        obs.shutdown()


def test_scrubbing_off_passes_spans_through() -> None:
    keep = Keep()
    queued = BoundedBatchSpanProcessor(keep, schedule_delay_millis=10, label="keep")
    handle = obs.configure(
        console=False, otlp=False, store=False, scrubbing=False, span_processors=[queued]
    )
    try:
        with obs.span("plain", token="abc"):
            pass
        assert handle.force_flush(5000)
        assert dict(keep.spans[0].attributes or {})["token"] == "abc"
    finally:
        obs.shutdown()


def test_a_span_the_scrubber_fails_on_is_dropped_counted_and_said(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    original = Scrubber.scrub_span

    def failing(self: Scrubber, span: ReadableSpan) -> ReadableSpan:
        if span.name == "boom":
            raise RuntimeError("scrubber bug")
        return original(self, span)

    monkeypatch.setattr(Scrubber, "scrub_span", failing)
    keep = Keep()
    queued = BoundedBatchSpanProcessor(keep, schedule_delay_millis=10, label="keep")
    handle = obs.configure(console=False, otlp=False, store=False, span_processors=[queued])
    try:
        for name in ("before", "boom", "after"):
            with obs.span(name):
                pass
        assert not handle.force_flush(5000)  # something was lost since the last flush
        assert [s.name for s in keep.spans] == ["before", "after"]
        scrubbing: ScrubbingSpanExporter = queued._scrubbing
        assert scrubbing.scrub_failed == 1
        assert "scrubbing (span dropped)" in caplog.text
        with obs.span("later"):
            pass
        assert handle.force_flush(5000)  # nothing lost since
    finally:
        obs.shutdown()


def test_the_sdk_fields_the_fast_hand_off_reads_are_there() -> None:
    processor = BoundedBatchSpanProcessor(Keep(), label="pin")
    try:
        assert processor._fast is not None, "the SDK's batch processor changed its layout"
        inner: Any = processor._batch_processor  # type: ignore[attr-defined]
        assert processor._fast.queue is inner._queue
    finally:
        processor.shutdown()


@pytest.mark.parametrize("fast", [True, False])
def test_fast_and_sdk_hand_off_export_the_same(monkeypatch: pytest.MonkeyPatch, fast: bool) -> None:
    if not fast:
        monkeypatch.setattr(_FastHandOff, "usable", staticmethod(lambda inner: False))
    keep = Keep()
    processor = BoundedBatchSpanProcessor(
        keep, max_queue_size=64, max_export_batch_size=8, schedule_delay_millis=5000
    )
    assert (processor._fast is not None) is fast
    provider = LeanTracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("hand-off")
    for i in range(20):  # past the batch size: the export thread is woken, not the timer
        tracer.start_span(f"s{i}").end()
    pending = tracer.start_span("pending")
    assert processor.force_flush(5000)
    assert [s.name for s in keep.spans] == [f"s{i}" for i in range(20)]
    processor.shutdown()
    pending.end()  # after shutdown: neither queued nor an error
    tracer.start_span("late").end()
    assert {"late", "pending"}.isdisjoint(s.name for s in keep.spans)
    provider.shutdown()


class Counting(IdGenerator):
    def __init__(self) -> None:
        self.n = 0

    def generate_span_id(self) -> int:
        self.n += 1
        return self.n

    def generate_trace_id(self) -> int:
        self.n += 1
        return 1000 + self.n


def test_ids_come_from_a_custom_generator_not_the_inline_draw() -> None:
    provider = LeanTracerProvider(shutdown_on_exit=False, id_generator=Counting())
    tracer: Any = provider.get_tracer("ids")
    assert tracer._obs_inline_ids is False
    span = tracer.start_span("s")
    context = span.get_span_context()
    assert (context.trace_id, context.span_id) == (1001, 2)
    default: Any = LeanTracerProvider(shutdown_on_exit=False).get_tracer("ids")
    assert default._obs_inline_ids is True


def test_a_disabled_tracer_config_gives_non_recording_spans() -> None:
    from opentelemetry.sdk import trace as sdk_trace

    config_class = getattr(sdk_trace, "_TracerConfig", None)
    if config_class is None:
        pytest.skip("this SDK has no tracer configs")
    provider = LeanTracerProvider(shutdown_on_exit=False)
    tracer: Any = provider.get_tracer("configured")
    assert tracer._obs_config_enabled is True
    tracer._set_tracer_config(config_class(is_enabled=False))
    assert isinstance(tracer.start_span("off"), NonRecordingSpan)
    tracer._set_tracer_config(config_class(is_enabled=True))
    assert tracer.start_span("on").is_recording()


def test_ids_patched_on_the_generator_instance_are_honoured() -> None:
    from unittest import mock

    tracer: Any = LeanTracerProvider(shutdown_on_exit=False).get_tracer("ids")
    with (
        mock.patch.object(tracer.id_generator, "generate_span_id", return_value=0xABC),
        mock.patch.object(tracer.id_generator, "generate_trace_id", return_value=0xDEF),
    ):
        context = tracer.start_span("patched").get_span_context()
    assert (context.trace_id, context.span_id) == (0xDEF, 0xABC)
    tracer.id_generator = Counting()  # replaced after the tracer was made
    context = tracer.start_span("replaced").get_span_context()
    assert (context.trace_id, context.span_id) == (1001, 2)
