"""The per-request helpers: a canonical traceparent parsed directly, baggage read directly."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry import baggage, propagate
from opentelemetry import trace as trace_api
from opentelemetry.context import Context
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from obs import _traceparent
from obs._lean.context import baggage_entries

W3C = TraceContextTextMapPropagator()
VALID = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def _via_propagator(header: str) -> Any:
    context = W3C.extract({"traceparent": header})
    span_context = trace_api.get_current_span(context).get_span_context()
    return span_context if span_context.is_valid else None


hex_chars = st.sampled_from("0123456789abcdefABCDEF-xg ")


@st.composite
def headers(draw: Any) -> str:
    """Valid headers, and valid headers with a few characters changed, dropped or added."""
    version = draw(st.sampled_from(["00", "01", "ff", "0g"]))
    trace = draw(st.text("0123456789abcdef", min_size=32, max_size=32))
    span = draw(st.text("0123456789abcdef", min_size=16, max_size=16))
    flags = draw(st.text("0123456789abcdef", min_size=2, max_size=2))
    header = f"{version}-{trace}-{span}-{flags}"
    for _ in range(draw(st.integers(0, 2))):
        i = draw(st.integers(0, len(header)))
        op = draw(st.sampled_from(["replace", "insert", "delete"]))
        c = draw(hex_chars)
        if op == "replace" and i < len(header):
            header = header[:i] + c + header[i + 1 :]
        elif op == "insert":
            header = header[:i] + c + header[i:]
        else:
            header = header[:i] + header[i + 1 :]
    return header


@settings(max_examples=500, deadline=None)
@given(st.one_of(headers(), st.text(max_size=80)))
def test_parse_agrees_with_the_w3c_propagator(header: str) -> None:
    parsed = _traceparent.parse(header)
    expected = _via_propagator(header)
    if parsed is None:
        # Declined: the caller asks the propagator. A canonical header is never declined.
        canonical = len(header) == 55 and header.startswith("00-") and header == header.strip()
        assert expected is None or not canonical or header != header.lower()
        return
    assert parsed == expected
    assert parsed.is_remote
    context = _traceparent.context_with_parent(parsed)
    assert trace_api.get_current_span(context).get_span_context() == expected


def test_parse_reads_the_canonical_header() -> None:
    parsed = _traceparent.parse(VALID)
    assert parsed is not None
    assert parsed.trace_id == 0x0AF7651916CD43DD8448EB211C80319C
    assert parsed.trace_flags.sampled
    assert _traceparent.parse(VALID.upper()) is None  # upper case: the propagator decides
    assert _traceparent.parse(None) is None
    assert _traceparent.parse("00-" + "0" * 32 + "-b7ad6b7169203331-01") is None


def test_w3c_only_follows_the_global_propagator() -> None:
    saved = propagate.get_global_textmap()
    try:
        propagate.set_global_textmap(CompositePropagator([W3C]))
        assert _traceparent.w3c_only()
        from opentelemetry.baggage.propagation import W3CBaggagePropagator

        propagate.set_global_textmap(CompositePropagator([W3C, W3CBaggagePropagator()]))
        assert _traceparent.w3c_only()
        propagate.set_global_textmap(CompositePropagator([W3CBaggagePropagator()]))
        assert not _traceparent.w3c_only()
    finally:
        propagate.set_global_textmap(saved)


def test_baggage_entries_equal_the_api() -> None:
    assert dict(baggage_entries(Context())) == {}
    context = baggage.set_baggage("tenant", "acme", baggage.set_baggage("k", "v"))
    assert dict(baggage_entries(context)) == dict(baggage.get_all(context))
    from opentelemetry import context as context_api

    token = context_api.attach(context)
    try:
        assert dict(baggage_entries()) == {"k": "v", "tenant": "acme"}
    finally:
        context_api.detach(token)


def test_a_message_carrier_with_a_canonical_traceparent_skips_the_propagator(
    monkeypatch: Any,
) -> None:
    from opentelemetry import propagate as propagate_module

    from obs._propagation import extract, header_getter

    carrier = {"content-type": "application/json", "correlation_id": "c-1", "traceparent": VALID}
    expected = _via_propagator(VALID)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("went through the propagator stack")

    with monkeypatch.context() as patched:
        patched.setattr(propagate_module, "extract", refuse)
        for getter in (header_getter, None):
            incoming = extract(carrier) if getter is None else extract(carrier, getter)
            assert incoming.remote == expected
    # tracestate or baggage present: the propagator reads them (and the fast path stays out).
    incoming = extract({**carrier, "tracestate": "vendor=1"}, header_getter)
    assert incoming.remote is not None
    assert dict(incoming.remote.trace_state) == {"vendor": "1"}
    incoming = extract({**carrier, "baggage": "tenant=acme"}, header_getter)
    assert dict(baggage.get_all(incoming.context)) == {"tenant": "acme"}


def test_inject_writes_what_the_propagators_write() -> None:
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState

    from obs._propagation import inject

    plain = SpanContext(0xABC, 0xDEF, False, TraceFlags(1))
    stated = SpanContext(0xABC, 0xDEF, False, TraceFlags(1), TraceState([("vendor", "1")]))
    contexts = [
        trace_api.set_span_in_context(NonRecordingSpan(plain)),
        trace_api.set_span_in_context(NonRecordingSpan(stated)),
        baggage.set_baggage(
            "tenant", "acme", trace_api.set_span_in_context(NonRecordingSpan(plain))
        ),
        trace_api.set_span_in_context(NonRecordingSpan(trace_api.INVALID_SPAN_CONTEXT)),
        Context(),
    ]
    for context in contexts:
        ours: dict[str, str] = {}
        theirs: dict[str, str] = {}
        inject(ours, context=context)
        propagate.inject(theirs, context=context)
        assert ours == theirs
    ours = {}
    inject(ours, context=contexts[0])
    assert ours == {"traceparent": "00-00000000000000000000000000000abc-0000000000000def-01"}
