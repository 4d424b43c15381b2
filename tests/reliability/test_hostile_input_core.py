"""Hostile input to the core: arbitrary header bytes, odd and huge values. Nothing raises."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import obs
from obs._attributes import MAX_DEPTH, MAX_STRING_LENGTH, to_attribute_value
from obs.instrumentation import extract, header_getter

header_bytes = st.binary(max_size=600)
header_text = st.text(max_size=600)
fixture_ok = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@fixture_ok
@given(
    traceparent=header_bytes,
    tracestate=header_bytes,
    baggage=header_bytes,
    policy=st.sampled_from(["trust", "link", "ignore"]),
)
def test_extract_survives_arbitrary_header_bytes(
    obs_capture, traceparent, tracestate, baggage, policy
):
    carrier = {"traceparent": traceparent, "tracestate": tracestate, "baggage": baggage}
    incoming = extract(carrier, header_getter, policy=policy)
    span = obs.tracer("fuzz").start_span(
        "x", context=incoming.context, links=incoming.links, attributes=dict(incoming.attributes)
    )
    span.end()


@fixture_ok
@given(traceparent=header_text, tracestate=header_text, baggage=header_text)
def test_extract_survives_arbitrary_header_text(obs_capture, traceparent, tracestate, baggage):
    incoming = extract({"traceparent": traceparent, "tracestate": tracestate, "baggage": baggage})
    assert incoming.context is not None


class Unfriendly:
    def __repr__(self) -> str:
        raise RuntimeError("repr explodes")

    def __str__(self) -> str:
        raise RuntimeError("str explodes")


odd_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=True),
        st.text(),
        st.binary(),
        st.builds(Unfriendly),
        st.just(math.inf),
        st.builds(object),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(st.one_of(st.text(max_size=10), st.integers()), children, max_size=5),
        st.frozensets(st.integers(), max_size=5),
        st.tuples(children, children),
    ),
    max_leaves=30,
)


@fixture_ok
@given(
    values=st.dictionaries(st.text(min_size=1, max_size=20), odd_values, max_size=6),
    template=st.text(max_size=50),
)
def test_span_and_log_api_accept_anything(obs_capture, values, template):
    obs_capture.clear()
    with obs.span("fuzz", **values):
        obs.info(template, **values)
        obs.error(template, **values)
    assert len(obs_capture.spans) == 3


@given(value=odd_values)
@settings(max_examples=300, deadline=None)
def test_attribute_conversion_is_total_and_bounded(value):
    converted = to_attribute_value(value)
    assert isinstance(converted, (str, bool, int, float, tuple))
    if isinstance(converted, str):
        assert len(converted) <= MAX_STRING_LENGTH + 40


def test_huge_and_deeply_nested_values_are_cut(obs_capture):
    deep: object = "bottom"
    for _ in range(500):
        deep = [deep]
    wide = {f"k{i}": i for i in range(10_000)}
    with obs.span("big", deep=deep, wide=wide, text="é" * 1_000_000, raw=b"\xff" * 100_000):
        pass
    attrs = obs_capture.one("big").attributes
    assert attrs["deep"].count("[") <= MAX_DEPTH + 1
    assert "<max depth>" in attrs["deep"]
    assert "more" in attrs["wide"]
    assert attrs["text"].endswith("chars]")
    assert len(attrs["text"]) < MAX_STRING_LENGTH + 40
    assert attrs["raw"].startswith("0xffff")
    assert len(attrs["raw"]) < MAX_STRING_LENGTH + 40


def test_non_utf8_and_surrogates(obs_capture):
    with obs.span("text", lone_surrogate="\ud800", latin=b"caf\xe9", control="\x00\x01"):
        obs.info("{a}", a="\udcff")
    assert obs_capture.one("text").attributes["latin"] == "0x636166e9"
