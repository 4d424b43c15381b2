"""obs's OTLP span writer against the reference encoder, over random spans (hypothesis)."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.trace.span import TraceState

from obs._otlp.encode import SpanWriter, Unsupported
from obs._otlp.exporter import FastOTLPSpanExporter, reference_dialect, reference_encode

ints = st.one_of(
    st.integers(min_value=-(1 << 63), max_value=(1 << 63) - 1),
    st.integers(min_value=-(1 << 80), max_value=1 << 80),  # outside int64: fallback
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    ints,
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=300),  # unicode, long enough for multi-byte length prefixes
    st.binary(max_size=40),
)
homogeneous = st.one_of(
    st.lists(st.text(max_size=10), max_size=4),
    st.lists(st.booleans(), max_size=4),
    st.lists(st.integers(min_value=-(1 << 63), max_value=(1 << 63) - 1), max_size=4),
    st.lists(st.floats(), max_size=4),
).map(tuple)
values: Any = st.recursive(
    st.one_of(scalars, homogeneous),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(st.text(max_size=5), inner, max_size=3),
    ),
    max_leaves=6,
)
keys = st.text(min_size=0, max_size=20)
attribute_maps = st.dictionaries(keys, values, max_size=6)
ids64 = st.integers(min_value=1, max_value=(1 << 64) - 1)
ids128 = st.integers(min_value=1, max_value=(1 << 128) - 1)
times = st.one_of(st.none(), st.integers(min_value=0, max_value=(1 << 64) - 1))


@st.composite
def span_contexts(draw: Any) -> SpanContext:
    state = draw(
        st.lists(
            st.tuples(st.sampled_from(["a", "vendor", "k1"]), st.sampled_from(["x", "1", "v"])),
            max_size=2,
            unique_by=lambda kv: kv[0],
        )
    )
    return SpanContext(
        draw(ids128),
        draw(ids64),
        draw(st.booleans()),
        TraceFlags(draw(st.sampled_from([0, 1]))),
        TraceState(state),
    )


RESOURCES = [
    Resource({"service.name": "a"}),
    Resource({"service.name": "a"}),  # equal to the first, another object: one group
    Resource({"service.name": "b", "n": 1}, schema_url="https://schema/r"),
]
SCOPES = [
    None,
    InstrumentationScope("x", "1.0"),
    InstrumentationScope("x", "1.0"),
    InstrumentationScope("y", None, "https://schema/s", {"scope": True}),
]


@st.composite
def spans(draw: Any) -> ReadableSpan:
    context = draw(span_contexts())
    parent = draw(st.one_of(st.none(), span_contexts()))
    events = draw(
        st.lists(
            st.builds(Event, st.text(max_size=10), st.one_of(st.none(), attribute_maps), times),
            max_size=3,
        )
    )
    links = draw(st.lists(st.builds(Link, span_contexts(), attribute_maps), max_size=2))
    status = draw(
        st.sampled_from(
            [
                Status(StatusCode.UNSET),
                Status(StatusCode.OK),
                Status(StatusCode.ERROR),
                Status(StatusCode.ERROR, "broken: ünïcode"),
            ]
        )
    )
    return ReadableSpan(
        name=draw(st.text(max_size=30)),
        context=context,
        parent=parent,
        resource=draw(st.sampled_from(RESOURCES)),
        attributes=draw(attribute_maps),
        events=events,
        links=links,
        kind=draw(st.sampled_from(list(SpanKind))),
        status=status,
        start_time=draw(times),
        end_time=draw(times),
        instrumentation_scope=draw(st.sampled_from(SCOPES)),
    )


def _reference_or_error(batch: list[ReadableSpan]) -> bytes | None:
    try:
        return reference_encode(batch)
    except Exception:
        return None


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(spans(), min_size=1, max_size=5))
def test_writer_is_byte_identical_or_declines(batch: list[ReadableSpan]) -> None:
    expected = _reference_or_error(batch)
    writer = SpanWriter(reference_dialect())
    try:
        encoded = writer.encode(batch)
    except Unsupported:
        return  # the exporter sends such a batch through the reference encoder
    assert encoded == expected
    assert writer.encode(batch) == expected  # again, from the caches


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(spans(), min_size=1, max_size=5))
def test_exporter_encoding_always_matches_the_reference(batch: list[ReadableSpan]) -> None:
    exporter = FastOTLPSpanExporter(endpoint="http://127.0.0.1:9/v1/traces")
    try:
        expected = _reference_or_error(batch)
        if expected is None:  # the reference itself fails (e.g. a lone surrogate): same here
            try:
                exporter.encode(batch)
            except Exception:
                return
            raise AssertionError("the reference failed but obs's encoder did not")
        assert exporter.encode(batch) == expected
    finally:
        exporter.shutdown()


def test_common_spans_do_not_fall_back() -> None:
    context = SpanContext(1 << 90, 77, False, TraceFlags(1))
    span = ReadableSpan(
        "GET /items/{id}",
        context=context,
        resource=RESOURCES[0],
        attributes={"http.route": "/items/{id}", "code": 200, "ok": True, "t": 0.25},
        start_time=1,
        end_time=2,
    )
    exporter = FastOTLPSpanExporter(endpoint="http://127.0.0.1:9/v1/traces")
    assert exporter.encode([span, span]) == reference_encode([span, span])
    assert exporter.fallbacks == 0
    assert exporter.encoder_in_use == "obs"
    exporter.shutdown()


def test_big_int_falls_back_to_the_reference() -> None:
    span = ReadableSpan(
        "big", context=SpanContext(1, 2, False), resource=RESOURCES[0], attributes={"n": 1 << 64}
    )
    exporter = FastOTLPSpanExporter(endpoint="http://127.0.0.1:9/v1/traces")
    assert exporter.encode([span]) == reference_encode([span])
    assert exporter.fallbacks == 1
    exporter.shutdown()
