"""Run the same scenario on the SDK's provider and on obs's lean one, and compare OTLP bytes.

Ids and clock are made deterministic (a counting id generator, a counting ``time_ns``), so two
runs of the same code make the same spans byte for byte, if the lean provider is right.
"""

from __future__ import annotations

import itertools
import logging
import random
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pytest
from opentelemetry import trace as trace_api
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk import trace as sdk_trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.sdk.trace.sampling import Sampler

from obs._lean import LeanTracerProvider
from obs._lean import span as lean_span_module
from obs._lean import tracer as lean_tracer_module
from obs._otlp.encode import SpanWriter, Unsupported
from obs._otlp.exporter import reference_dialect, reference_encode

RESOURCE = Resource({"service.name": "twins", "service.version": "1"})


class CountingIds(IdGenerator):
    """1, 2, 3, ... for span ids; trace ids from a different range."""

    def __init__(self) -> None:
        self._spans = itertools.count(1)
        self._traces = itertools.count(1 << 100)

    def generate_span_id(self) -> int:
        return next(self._spans)

    def generate_trace_id(self) -> int:
        return next(self._traces)


class Collect(SpanProcessor):
    """Keeps every ended span, in end order (what an exporter would get)."""

    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []
        self.started: list[str] = []

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        self.started.append(span.name)

    def on_end(self, span: ReadableSpan) -> None:
        self.spans.append(span)


@contextmanager
def counting_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    ticks = itertools.count(1_700_000_000_000_000_000, 1000)

    def clock() -> int:
        return next(ticks)

    for module in (sdk_trace, lean_span_module, lean_tracer_module):
        monkeypatch.setattr(module, "time_ns", clock)
    yield


Scenario = Callable[[trace_api.TracerProvider], None]


def run(
    provider_class: type[TracerProvider],
    scenario: Scenario,
    monkeypatch: pytest.MonkeyPatch,
    *,
    sampler: Sampler | None = None,
    limits: SpanLimits | None = None,
    ids: IdGenerator | None = None,
) -> tuple[list[ReadableSpan], list[str], Collect]:
    collect = Collect()
    provider = provider_class(
        sampler=sampler,
        resource=RESOURCE,
        shutdown_on_exit=False,
        id_generator=ids or CountingIds(),
        span_limits=limits,
    )
    provider.add_span_processor(collect)
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(f"{record.name}: {record.getMessage()}")

    handler = Keep(level=logging.WARNING)
    loggers = [logging.getLogger(n) for n in ("opentelemetry", "obs")]
    for logger in loggers:
        logger.addHandler(handler)
    random.seed(1234)
    try:
        with counting_clock(monkeypatch):
            scenario(provider)
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
    return collect.spans, records, collect


def assert_twins(
    scenario: Scenario,
    monkeypatch: pytest.MonkeyPatch,
    **options: Any,
) -> list[ReadableSpan]:
    """The scenario's spans are the same bytes (and the same warnings) on both providers."""
    sdk_spans, sdk_logs, sdk_collect = run(TracerProvider, scenario, monkeypatch, **options)
    lean_spans, lean_logs, lean_collect = run(LeanTracerProvider, scenario, monkeypatch, **options)
    assert all(type(s).__name__ == "LeanSpan" for s in lean_spans), "lean path not taken"
    assert len(lean_spans) == len(sdk_spans)
    assert_same_bytes(sdk_spans, lean_spans)
    assert lean_logs == sdk_logs
    assert lean_collect.started == sdk_collect.started
    for sdk_span, lean_span in zip(sdk_spans, lean_spans, strict=True):
        assert lean_span.dropped_attributes == sdk_span.dropped_attributes
        assert lean_span.dropped_events == sdk_span.dropped_events
        assert lean_span.dropped_links == sdk_span.dropped_links
        assert repr(dict(lean_span.attributes or {})) == repr(dict(sdk_span.attributes or {}))
    return lean_spans


def without_sdk_frames(encoded: bytes) -> bytes:
    """The request with the SDK's own frames cut out of ``exception.stacktrace`` values.

    The one intended difference: the SDK records an exception leaving
    ``start_as_current_span`` from inside its two generators, so its stack trace ends with
    their frames (``use_span``, ``start_as_current_span``); the lean context manager records
    it in ``__exit__``, where the trace holds only the user's frames.
    """
    request = ExportTraceServiceRequest.FromString(encoded)
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                for event in span.events:
                    for attribute in event.attributes:
                        if attribute.key == "exception.stacktrace":
                            value = attribute.value.string_value
                            attribute.value.string_value = _SDK_FRAME.sub("", value)
    return request.SerializeToString()  # type: ignore[no-any-return]


_SDK_FRAME = re.compile(
    r'  File "[^"]*(?:opentelemetry|contextlib)[^"]*", line \d+, in \w+\n(?:    .*\n)?'
)


def assert_same_bytes(
    sdk_spans: Sequence[ReadableSpan], lean_spans: Sequence[ReadableSpan]
) -> None:
    expected = reference_encode(sdk_spans)
    if b"exception.stacktrace" in expected:
        assert without_sdk_frames(reference_encode(lean_spans)) == without_sdk_frames(expected)
        assert writer_bytes(lean_spans) == reference_encode(lean_spans)
        assert writer_bytes(sdk_spans) == expected
        return
    assert reference_encode(lean_spans) == expected
    assert writer_bytes(lean_spans) == expected
    assert writer_bytes(sdk_spans) == expected


#: scenarios whose values the direct writer hands to the reference encoder
FALLBACKS: list[int] = []


def writer_bytes(spans: Sequence[ReadableSpan]) -> bytes:
    """obs's writer's bytes, or the reference's when the writer declines (as the exporter does)."""
    try:
        return SpanWriter(reference_dialect()).encode(spans)
    except Unsupported:
        FALLBACKS.append(len(spans))
        return reference_encode(spans)
