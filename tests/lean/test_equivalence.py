"""Lean spans against SDK spans: the same scenario gives the same OTLP bytes and warnings."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import pytest
from opentelemetry import context as context_api
from opentelemetry import trace as trace_api
from opentelemetry.sdk.trace import SpanLimits
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from tests.lean.twins import assert_twins

Provider = trace_api.TracerProvider


def basic(provider: Provider) -> None:
    tracer = provider.get_tracer("basic", "1.0", "https://schema/1")
    other = provider.get_tracer("other", attributes={"scope.attr": "x"})
    with tracer.start_as_current_span("root", kind=SpanKind.SERVER, attributes={"a": 1}) as root:
        root.set_attribute("b", "x")
        root.set_attributes({"c": 2.5, "d": True, "e": [1, 2], "f": ("x", "y"), "g": []})
        with other.start_as_current_span("child", kind=SpanKind.CLIENT) as child:
            child.update_name("child renamed")
            child.set_attribute("a", 1)
        tracer.start_span("sibling", kind=SpanKind.PRODUCER, start_time=5).end(end_time=10)
        tracer.start_span("detached", context=context_api.Context()).end()
        root.set_attribute("a", 3)  # an existing key moves to the end
        # all plain, room for all: placed as given, "b" moved to the end
        root.set_attributes({"b": "again", "h": 7, "i": False, "j": 1.5})
        root.set_attributes({"k": 1, "": 2, "l": 3})  # an empty key: the SDK's path
    with tracer.start_as_current_span("second root", kind=SpanKind.CONSUMER):
        pass


def test_basic(monkeypatch: pytest.MonkeyPatch) -> None:
    spans = assert_twins(basic, monkeypatch)
    assert [s.name for s in spans] == [
        "child renamed",
        "sibling",
        "detached",
        "root",
        "second root",
    ]


def limited(provider: Provider) -> None:
    tracer = provider.get_tracer("limits")
    attrs = {"k1": "short", "k2": "a string longer than the limit", "k3": 3, "k4": 4}
    span = tracer.start_span(
        "limits",
        attributes=attrs,
        links=[
            Link(
                SpanContext(7, 8, True, TraceFlags(1)), {"l1": 1, "l2": 2, "l3": "long long value"}
            ),
            Link(SpanContext(9, 10, False), {"x": 1}),
            Link(trace_api.INVALID_SPAN_CONTEXT),  # dropped as invalid, not counted
        ],
    )
    span.set_attribute("k5", ("long tuple item", "ok"))
    span.set_attribute("k1", "again")
    span.set_attributes({"k6": 6, "k7": "yet another long string"})
    for i in range(4):
        span.add_event(f"event {i}", {"e1": i, "e2": "long event value", "e3": 3})
    span.add_link(SpanContext(11, 12, False), {"late": "link"})
    span.end()


def test_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    limits = SpanLimits(
        max_span_attributes=3,
        max_span_attribute_length=8,
        max_events=2,
        max_links=1,
        max_event_attributes=2,
        max_link_attributes=1,
        max_attribute_length=6,
    )
    spans = assert_twins(limited, monkeypatch, limits=limits)
    assert spans[0].dropped_attributes > 0
    assert spans[0].dropped_events == 2


def linked(provider: Provider) -> None:
    """Links every way a lean span takes them: none given attributes (a consumer's link to its
    message's creation context), a link reused by two spans, an invalid context kept for its
    trace state, falsy and invalid ones skipped, and a link added to a span started with some."""
    from opentelemetry.trace import TraceState

    tracer = provider.get_tracer("links")
    reused = Link(SpanContext(21, 22, True, TraceFlags(1)))
    tracer.start_span("one", links=[reused]).end()
    span = tracer.start_span(
        "two",
        links=[
            reused,
            Link(SpanContext(23, 24, False), {}),
            Link(SpanContext(0, 0, False, trace_state=TraceState([("k", "v")]))),
            Link(trace_api.INVALID_SPAN_CONTEXT),
            Link(SpanContext(25, 26, True), MappingProxyType({"m": "x"})),
        ],
    )
    span.add_link(SpanContext(27, 28, False))
    span.end()
    tracer.start_span("three", links=[]).end()
    four = tracer.start_span("four", links=(reused,))
    four.add_link(SpanContext(29, 30, False), {"a": 1})
    four.end()


@pytest.mark.parametrize("max_links", [None, 0, 1, 2, 128])
def test_links(monkeypatch: pytest.MonkeyPatch, max_links: int | None) -> None:
    limits = SpanLimits(max_links=max_links) if max_links is not None else None
    # The SDK twin is the oracle (same bytes, same dropped counts); the default case is also
    # checked by hand, so a scenario that lost its links could not pass by matching nothing.
    spans = assert_twins(linked, monkeypatch, limits=limits)
    if max_links is None:
        assert [len(span.links) for span in spans] == [1, 5, 0, 2]
        assert [span.dropped_links for span in spans] == [0, 0, 0, 0]


def truncated_with_room(provider: Provider) -> None:
    tracer = provider.get_tracer("truncation")
    span = tracer.start_span("t", attributes={"a": "short", "b": "longer than eight", "c": 1})
    span.set_attributes({"d": "ok", "e": "also too long"})
    span.set_attributes({"a": "moved", "f": "eight ch"})  # exactly the limit: kept whole
    span.end()


def test_truncation_with_room_for_every_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Long strings are truncated even when no attribute has to be dropped."""
    spans = assert_twins(
        truncated_with_room, monkeypatch, limits=SpanLimits(max_span_attribute_length=8)
    )
    assert spans[0].attributes["b"] == "longer t"


def test_no_attributes_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    assert_twins(limited, monkeypatch, limits=SpanLimits(max_span_attributes=0, max_events=0))


def sequences_at_start(provider: Provider) -> None:
    """A new span's attributes with sequences among plain values (the start fast path)."""
    tracer = provider.get_tracer("sequences")
    tracer.start_span(
        "plain sequences",
        attributes={"a": 1, "writes": ["n", "m"], "t": ("x",), "empty": [], "f": (1.0, 2.5)},
    ).end()
    tracer.start_span("bools", attributes={"b": [True, False], "n": (1, 2)}).end()
    tracer.start_span("long item", attributes={"k": "v", "s": ("ok", "a long tuple item")}).end()
    tracer.start_span("mixed", attributes={"k": "v", "m": [1, "x"], "after": 2}).end()


@pytest.mark.parametrize("max_length", [None, 4])
def test_sequences_at_start(monkeypatch: pytest.MonkeyPatch, max_length: int | None) -> None:
    limits = SpanLimits(max_span_attribute_length=max_length)
    spans = assert_twins(sequences_at_start, monkeypatch, limits=limits)
    assert spans[0].attributes is not None
    assert spans[0].attributes["writes"] == ("n", "m")


class Opaque:
    pass


class Named:
    def __str__(self) -> str:
        return "named"


def odd_values(provider: Provider) -> None:
    tracer = provider.get_tracer("odd")
    span = tracer.start_span(
        "odd",
        attributes={
            "none": None,
            "mapping": {"k": [1, "x"], "n": {"deep": True}},
            "proxy": MappingProxyType({"p": 1}),
            "mixed": [1, "x", None],
            "bytes": b"\x00\xff",
            "big": 1 << 70,
            "neg": -5,
            "opaque": Opaque(),
            "named": Named(),
            "": "empty key",
            "nan": float("nan"),
            "unicode": "żółć 漢字 🎉",
            "bools": [True, False],
            "floats": (1.0, 2.5),
        },
    )
    span.set_attribute("opaque2", Opaque())
    span.set_attribute(5, "non-str key")  # type: ignore[arg-type]
    span.set_attribute("list", ["a", "b"])
    span.set_attributes({7: "x", "ok": 1})  # type: ignore[dict-item]
    span.end()


def test_odd_values(monkeypatch: pytest.MonkeyPatch) -> None:
    assert_twins(odd_values, monkeypatch, limits=SpanLimits(max_span_attribute_length=100))


def test_odd_values_with_truncation(monkeypatch: pytest.MonkeyPatch) -> None:
    assert_twins(odd_values, monkeypatch, limits=SpanLimits(max_span_attribute_length=3))


def remote_parents(provider: Provider) -> None:
    tracer = provider.get_tracer("remote")
    propagator = TraceContextTextMapPropagator()
    for flags in ("01", "00"):
        carrier = {
            "traceparent": f"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-{flags}",
            "tracestate": "vendor=value,other=x",
        }
        ctx = propagator.extract(carrier)
        with tracer.start_as_current_span("server", context=ctx, kind=SpanKind.SERVER):
            with tracer.start_as_current_span("inner"):
                pass
            tracer.start_span("explicit child", context=ctx).end()


class Custom(Sampler):
    """Adds attributes and trace state, records without sampling every other span."""

    def __init__(self) -> None:
        self.n = 0

    def should_sample(
        self, parent_context: Any, trace_id: int, name: str, *args: Any, **kw: Any
    ) -> SamplingResult:
        self.n += 1
        decision = [Decision.RECORD_AND_SAMPLE, Decision.RECORD_ONLY, Decision.DROP][self.n % 3]
        state = trace_api.TraceState([("custom", str(self.n))])
        return SamplingResult(decision, {"sampler.n": self.n, "name": name}, state)

    def get_description(self) -> str:
        return "custom"


@pytest.mark.parametrize(
    "sampler",
    [
        None,
        ALWAYS_ON,
        ALWAYS_OFF,
        ParentBased(ALWAYS_OFF),
        ParentBased(TraceIdRatioBased(0.5)),
        TraceIdRatioBased(0.5),
        ParentBased(ALWAYS_ON, remote_parent_not_sampled=ALWAYS_ON),
        Custom(),
    ],
    ids=lambda s: type(s).__name__ if s is not None else "default",
)
def test_samplers(monkeypatch: pytest.MonkeyPatch, sampler: Sampler | None) -> None:
    def scenario(provider: Provider) -> None:
        remote_parents(provider)
        basic(provider)

    if isinstance(sampler, Custom):
        sampler.n = 0
        monkeypatch.setattr(sampler, "n", 0)

        def reset(provider: Provider) -> None:
            sampler.n = 0  # type: ignore[union-attr]
            scenario(provider)

        assert_twins(reset, monkeypatch, sampler=sampler)
        return
    assert_twins(scenario, monkeypatch, sampler=sampler)


class Failure(Exception):
    pass


def exceptions_and_status(provider: Provider) -> None:
    tracer = provider.get_tracer("status")
    with pytest.raises(Failure), tracer.start_as_current_span("raises"):
        raise Failure("boom")
    with (
        pytest.raises(Failure),
        tracer.start_as_current_span(
            "raises quietly", record_exception=False, set_status_on_exception=False
        ),
    ):
        raise Failure("quiet")
    with pytest.raises(KeyboardInterrupt), tracer.start_as_current_span("base exception"):
        raise KeyboardInterrupt
    with pytest.raises(Failure), tracer.start_span("span as manager") as span:
        raise Failure("as manager")
    span = tracer.start_span("recorded")
    try:
        raise ValueError("handled")
    except ValueError as exc:
        span.record_exception(exc, {"extra": 1}, timestamp=42, escaped=True)
    span.set_status(Status(StatusCode.ERROR, "first"), description="ignored with a warning")
    span.set_status(StatusCode.UNSET)
    span.set_status(StatusCode.OK, "ok description")
    span.set_status(StatusCode.ERROR, "after OK: ignored")
    span.end()
    span = tracer.start_span("error with description")
    span.set_status(StatusCode.ERROR, "broken")
    span.end()
    with tracer.start_as_current_span("not ended", end_on_exit=False) as kept:
        pass
    kept.end()


def test_exceptions_and_status(monkeypatch: pytest.MonkeyPatch) -> None:
    assert_twins(exceptions_and_status, monkeypatch)


def after_end(provider: Provider) -> None:
    tracer = provider.get_tracer("ended")
    span = tracer.start_span("ended", attributes={"a": 1})
    span.add_event("before")
    span.end()
    assert not span.is_recording()
    span.set_attribute("a", 2)
    span.set_attributes({"b": 2})
    span.add_event("after")
    span.add_link(SpanContext(1, 2, False))
    span.set_status(StatusCode.ERROR, "late")
    span.update_name("late name")
    span.record_exception(ValueError("late"))
    span.end()


def test_mutators_after_end(monkeypatch: pytest.MonkeyPatch) -> None:
    spans = assert_twins(after_end, monkeypatch)
    assert spans[0].name == "ended"
    assert dict(spans[0].attributes or {}) == {"a": 1}


def decorated(provider: Provider) -> None:
    tracer = provider.get_tracer("decorated")

    @tracer.start_as_current_span("decorated call")
    def work(n: int) -> int:
        trace_api.get_current_span().set_attribute("n", n)
        return n

    assert work(1) + work(2) == 3

    @tracer.start_as_current_span("async call")
    async def awork() -> str:
        return "done"

    import asyncio

    assert asyncio.run(awork()) == "done"


def test_start_as_current_span_as_decorator(monkeypatch: pytest.MonkeyPatch) -> None:
    spans = assert_twins(decorated, monkeypatch)
    assert [s.name for s in spans] == ["decorated call", "decorated call", "async call"]
