"""The propagation policy with real W3C headers: valid, malformed, unsampled."""

from __future__ import annotations

import logging

import pytest
from opentelemetry.trace import SpanKind

import obs
from obs import _diagnostics
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


@pytest.fixture(autouse=True)
def _fresh_diagnostics():
    _diagnostics.reset_said()
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


def test_unsampled_parent_is_explained_once_and_link_solves_it(obs_capture, caplog):
    caplog.set_level(logging.WARNING, logger="obs")
    serve(extract({"traceparent": UNSAMPLED}))
    serve(extract({"traceparent": UNSAMPLED}))
    assert obs_capture.find("GET /items") == []  # the Cloud Run case: spans silently dropped
    warnings = [r for r in caplog.records if "sampled=0" in r.getMessage()]
    assert len(warnings) == 1
    assert "OBS_PROPAGATION=link" in warnings[0].getMessage()

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
