"""The propagation policy with real W3C headers: valid, malformed, unsampled."""

from __future__ import annotations

import contextlib
import logging

import pytest
from opentelemetry import context as context_api
from opentelemetry.trace import SpanKind

import obs
import obs.testing
from obs.instrumentation import Incoming, extract, inject

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
SAMPLED = f"00-{TRACE_ID}-{PARENT_ID}-01"
UNSAMPLED = f"00-{TRACE_ID}-{PARENT_ID}-00"


def serve(incoming: Incoming, name: str = "GET /items") -> None:
    """What an integration does with an incoming request."""
    tracer = obs.tracer("test.server")
    span = tracer.start_span(
        name,
        context=incoming.context,
        kind=SpanKind.SERVER,
        links=incoming.links,
        attributes=dict(incoming.attributes),
    )
    span.end()


@contextlib.contextmanager
def _attached(ctx):
    token = context_api.attach(ctx)
    try:
        yield
    finally:
        context_api.detach(token)


@pytest.fixture(autouse=True)
def _fresh_diagnostics():
    obs.testing.reset_diagnostics()
    return


def test_trust_continues_the_incoming_trace(obs_capture):
    serve(extract({"traceparent": SAMPLED}))
    span = obs_capture.one("GET /items")
    assert f"{span.context.trace_id:032x}" == TRACE_ID
    assert f"{span.parent.span_id:016x}" == PARENT_ID
    assert span.parent.is_remote
    assert not span.links


def test_link_starts_a_new_trace_linked_to_the_incoming_one(obs_capture):
    obs_capture.configure(propagation="link")
    serve(extract({"traceparent": SAMPLED, "baggage": "tenant=acme"}))
    span = obs_capture.one("GET /items")
    assert f"{span.context.trace_id:032x}" != TRACE_ID
    assert span.parent is None
    [link] = span.links
    assert f"{link.context.trace_id:032x}" == TRACE_ID
    assert "tenant" not in span.attributes  # untrusted baggage is not taken either


def test_ignore_drops_incoming_context(obs_capture):
    serve(extract({"traceparent": SAMPLED}, policy="ignore"))
    span = obs_capture.one("GET /items")
    assert span.parent is None
    assert not span.links


def test_per_call_policy_overrides_the_configured_one(obs_capture):
    obs_capture.configure(propagation="ignore")
    serve(extract({"traceparent": SAMPLED}, policy="trust"))
    assert f"{obs_capture.one('GET /items').context.trace_id:032x}" == TRACE_ID


@pytest.mark.parametrize(
    "header",
    [
        "garbage",
        "00-xyz-abc-01",
        f"00-{'0' * 32}-{PARENT_ID}-01",  # all-zero trace id is invalid
        f"ff-{TRACE_ID}-{PARENT_ID}-01",  # version ff is forbidden
        f"00-{TRACE_ID}-{PARENT_ID}",  # truncated
        "\x00\xff" * 40,
    ],
)
def test_malformed_traceparent_starts_a_fresh_trace_and_says_so(obs_capture, header, caplog):
    caplog.set_level(logging.INFO, logger="obs")
    incoming = extract({"traceparent": header, "baggage": "k=v"})
    serve(incoming)
    span = obs_capture.one("GET /items")
    assert span.parent is None
    assert span.attributes["obs.propagation.malformed"] == ("traceparent",)
    assert "malformed trace context" in caplog.text


def test_malformed_baggage_is_ignored_without_harm(obs_capture):
    serve(extract({"traceparent": SAMPLED, "baggage": "=;;,,%%%, ok=1"}))
    span = obs_capture.one("GET /items")
    assert f"{span.context.trace_id:032x}" == TRACE_ID


def test_a_callers_unsampled_flag_does_not_switch_the_service_off(obs_capture, caplog):
    """The Cloud Run case, and any client sending `-00`: recorded, in the caller's trace."""
    caplog.set_level(logging.INFO, logger="obs")
    serve(extract({"traceparent": UNSAMPLED}))
    serve(extract({"traceparent": UNSAMPLED}))
    spans = obs_capture.find("GET /items")
    assert len(spans) == 2
    for span in spans:
        assert f"{span.context.trace_id:032x}" == TRACE_ID  # still joinable
        assert f"{span.parent.span_id:016x}" == PARENT_ID
        assert span.parent.is_remote
        assert span.context.trace_flags.sampled
    notes = [r for r in caplog.records if "sampled=0" in r.getMessage()]
    assert len(notes) == 1
    assert "propagation='strict'" in notes[0].getMessage()


def test_the_service_decides_downstream_sampling_too(obs_capture):
    incoming = extract({"traceparent": UNSAMPLED})
    carrier: dict[str, str] = {}
    with _attached(incoming.context), obs.span("handler"):
        obs.info("inside")
        inject(carrier)
    assert obs_capture.one("inside").parent.span_id == obs_capture.one("handler").context.span_id
    _, trace_id, _, flags = carrier["traceparent"].split("-")
    assert trace_id == TRACE_ID
    assert flags == "01"


def test_the_services_own_sample_rate_still_applies_to_unsampled_callers(obs_capture):
    obs_capture.configure(sample_rate=0.0)
    serve(extract({"traceparent": UNSAMPLED}))
    assert obs_capture.find("GET /items") == []
    serve(extract({"traceparent": SAMPLED}))  # parent-based for sampled callers, as before
    assert len(obs_capture.find("GET /items")) == 1


def test_strict_follows_the_callers_decision_and_explains_it_once(obs_capture, caplog):
    caplog.set_level(logging.WARNING, logger="obs")
    obs_capture.configure(propagation="strict")
    serve(extract({"traceparent": UNSAMPLED}))
    serve(extract({"traceparent": UNSAMPLED}))
    assert obs_capture.find("GET /items") == []
    warnings = [r for r in caplog.records if "sampled=0" in r.getMessage()]
    assert len(warnings) == 1
    assert "'strict'" in warnings[0].getMessage()
    serve(extract({"traceparent": SAMPLED}))
    assert f"{obs_capture.one('GET /items').context.trace_id:032x}" == TRACE_ID


def test_strict_from_environment(obs_capture, monkeypatch):
    monkeypatch.setenv("OBS_PROPAGATION", "strict")
    obs_capture.configure()
    assert obs.settings().propagation is obs.PropagationPolicy.STRICT


def test_link_solves_it_as_well(obs_capture):
    obs_capture.configure(propagation="link")
    serve(extract({"traceparent": UNSAMPLED}))
    span = obs_capture.one("GET /items")
    assert span.parent is None
    assert f"{span.links[0].context.trace_id:032x}" == TRACE_ID


def test_policy_from_environment(obs_capture, monkeypatch):
    monkeypatch.setenv("OBS_PROPAGATION", "link")
    obs_capture.configure()
    assert obs.settings().propagation is obs.PropagationPolicy.LINK


def test_invalid_policy_is_a_clear_error(obs_capture):
    with pytest.raises(ValueError, match="propagation must be one of"):
        obs_capture.configure(propagation="trust-me")


def test_inject_writes_traceparent_and_baggage(obs_capture):
    carrier: dict[str, str] = {}
    with obs.baggage(tenant="acme"), obs.span("publish") as span:
        inject(carrier)
    trace_id = f"{span.get_span_context().trace_id:032x}"
    assert carrier["traceparent"].split("-")[1] == trace_id
    assert carrier["baggage"] == "tenant=acme"


def test_round_trip_between_services(obs_capture):
    carrier: dict[str, str] = {}
    with obs.span("client"):
        inject(carrier)
    serve(extract(carrier), name="server")
    client, server = obs_capture.one("client"), obs_capture.one("server")
    assert server.parent.span_id == client.context.span_id


def test_header_getter_reads_bytes_and_lists(obs_capture):
    from obs.instrumentation import header_getter

    carrier = {"traceparent": SAMPLED.encode(), "baggage": [b"a=1"]}
    serve(extract(carrier, header_getter))
    assert f"{obs_capture.one('GET /items').context.trace_id:032x}" == TRACE_ID


# -- the public obs.extract / obs.inject, for any transport -----------------------------------


def test_public_extract_and_inject_round_trip_with_a_dict_carrier(obs_capture):
    carrier: dict[str, str] = {}
    with obs.baggage(tenant="acme"), obs.span("client"):
        obs.inject(carrier)
    with _attached(obs.extract(carrier)), obs.span("server"):
        obs.info("handled")
    client, server = obs_capture.one("client"), obs_capture.one("server")
    assert server.parent.span_id == client.context.span_id
    assert server.attributes["tenant"] == "acme"
    assert obs_capture.one("handled").parent.span_id == server.context.span_id


def test_public_extract_honours_link_on_the_first_span_only(obs_capture):
    obs_capture.configure(propagation="link")
    with _attached(obs.extract({"traceparent": SAMPLED})), obs.span("server"), obs.span("child"):
        pass
    server, child = obs_capture.one("server"), obs_capture.one("child")
    assert server.parent is None
    [link] = server.links
    assert f"{link.context.trace_id:032x}" == TRACE_ID
    assert link.attributes["obs.link.reason"] == "incoming"
    assert not child.links


def test_public_extract_ignore_and_unsampled_and_malformed(obs_capture):
    with _attached(obs.extract({"traceparent": SAMPLED}, policy="ignore")), obs.span("ignored"):
        pass
    assert obs_capture.one("ignored").parent is None
    with _attached(obs.extract({"traceparent": UNSAMPLED})), obs.span("kept"):
        pass
    assert f"{obs_capture.one('kept').context.trace_id:032x}" == TRACE_ID
    with _attached(obs.extract({"traceparent": "garbage"})), obs.span("fresh"):
        pass
    assert obs_capture.one("fresh").attributes["obs.propagation.malformed"] == ("traceparent",)
    with pytest.raises(ValueError, match="propagation must be one of"):
        obs.extract({}, policy="nonsense")


def test_public_extract_never_raises_on_odd_carriers(obs_capture):
    for carrier in ({}, {"traceparent": b"\xff\xfe"}, {"traceparent": ["a", "b"]}, {1: 2}):
        ctx = obs.extract(carrier)
        assert ctx is not None
