"""obs-httpx against a real uvicorn server on loopback: spans, attributes, context, errors."""

from __future__ import annotations

import socket

import httpx
import pytest
from opentelemetry import trace as trace_api
from opentelemetry.trace import SpanKind, StatusCode

import obs
import obs_httpx
from obs._suppression import suppress_http_client_spans


def _traceparent_ids(value: str) -> tuple[int, int]:
    _, trace_id, span_id, _ = value.split("-")
    return int(trace_id, 16), int(span_id, 16)


def test_sync_request_is_a_client_span_with_context_injected(instrumented, server):
    with obs.span("checkout"), httpx.Client() as client:
        seen = client.get(f"{server.url}/headers").json()
    span = instrumented.one("GET")
    assert span.kind is SpanKind.CLIENT
    assert instrumented.parent(span).name == "checkout"
    port = int(server.url.rsplit(":", 1)[1])
    assert dict(span.attributes) == {
        "http.request.method": "GET",
        "server.address": "127.0.0.1",
        "server.port": port,
        "url.full": f"{server.url}/headers",
        "http.response.status_code": 200,
        "network.protocol.version": "1.1",
    }
    assert span.status.status_code is StatusCode.UNSET
    # The server received this span as its parent.
    assert _traceparent_ids(seen["traceparent"]) == (span.context.trace_id, span.context.span_id)


async def test_async_request(instrumented, server):
    with obs.span("outer"):
        async with httpx.AsyncClient() as client:
            response = await client.post(f"{server.url}/headers", json={"a": 1})
    span = instrumented.one("POST")
    assert span.kind is SpanKind.CLIENT
    assert span.attributes["http.response.status_code"] == 200
    assert instrumented.parent(span).name == "outer"
    trace_id, span_id = _traceparent_ids(response.json()["traceparent"])
    assert (trace_id, span_id) == (span.context.trace_id, span.context.span_id)


@pytest.mark.parametrize("code", [404, 503])
def test_error_status(instrumented, server, code):
    response = httpx.get(f"{server.url}/status/{code}")
    assert response.status_code == code
    span = instrumented.one("GET")
    assert span.attributes["error.type"] == str(code)
    assert span.attributes["http.response.status_code"] == code
    assert span.status.status_code is StatusCode.ERROR


def test_connection_failure_is_recorded_and_raised_unchanged(instrumented):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once the block ends: nobody listens
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/")
    span = instrumented.one("GET")
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "httpx.ConnectError"
    assert "http.response.status_code" not in span.attributes
    [point] = instrumented.metrics()["http.client.request.duration"]
    assert point.attributes["error.type"] == "httpx.ConnectError"


def test_url_full_has_no_credentials_and_no_secret_query_values(instrumented, server):
    host = server.url.removeprefix("http://")
    url = f"http://user:pw-123@{host}/headers?api_key=abc123&page=2&sig=zzz&q=shoes"
    httpx.get(url)
    span = instrumented.one("GET")
    assert span.attributes["url.full"] == (
        f"http://REDACTED:REDACTED@{host}/headers"
        "?api_key=REDACTED&page=2&sig=REDACTED&q=shoes"  # the convention's placeholder stays
    )


def test_unknown_method_keeps_names_bounded(instrumented, server):
    httpx.request("PURGE", f"{server.url}/headers")
    span = instrumented.one("HTTP")
    assert span.attributes["http.request.method"] == "_OTHER"
    assert span.attributes["http.request.method_original"] == "PURGE"


def test_each_redirect_hop_is_its_own_span(instrumented, server):
    with httpx.Client(follow_redirects=True) as client:
        assert client.get(f"{server.url}/redirect").status_code == 200
    codes = sorted(s.attributes["http.response.status_code"] for s in instrumented.find("GET"))
    assert codes == [200, 302]


def test_duration_metric_with_exemplar_in_the_span(instrumented, server):
    httpx.get(f"{server.url}/headers")
    span = instrumented.one("GET")
    [point] = instrumented.metrics()["http.client.request.duration"]
    assert dict(point.attributes) == {
        "http.request.method": "GET",
        "server.address": "127.0.0.1",
        "server.port": span.attributes["server.port"],
        "url.scheme": "http",
        "http.response.status_code": 200,
        "network.protocol.version": "1.1",
    }
    assert point.count == 1
    assert 0 < point.sum < 5
    assert point.explicit_bounds[0] == 0.005
    assert [e.span_id for e in point.exemplars] == [span.context.span_id]


def test_suppressed_requests_record_nothing_and_send_no_header(instrumented, server):
    with suppress_http_client_spans():
        seen = httpx.get(f"{server.url}/headers").json()
    assert "traceparent" not in seen
    assert instrumented.find("GET") == []


def test_propagate_false_records_without_headers(instrumented, server):
    obs_httpx.instrument_httpx(propagate=False)  # again: replaces the options
    seen = httpx.get(f"{server.url}/headers").json()
    assert "traceparent" not in seen
    assert len(instrumented.find("GET")) == 1


def test_explicit_transport_under_global_instrumentation_is_one_span(instrumented, server):
    with httpx.Client(transport=obs_httpx.ObsTransport(httpx.HTTPTransport())) as client:
        client.get(f"{server.url}/headers")
    assert len(instrumented.find("GET")) == 1


def test_explicit_transport_alone(obs_capture, server):
    obs_capture.configure()
    with httpx.Client(transport=obs_httpx.ObsTransport()) as client:
        client.get(f"{server.url}/headers")
    assert len(obs_capture.find("GET")) == 1


def test_uninstrument_restores_httpx_exactly(obs_capture, server):
    obs_capture.configure()
    sync_before = httpx.HTTPTransport.__dict__["handle_request"]
    async_before = httpx.AsyncHTTPTransport.__dict__["handle_async_request"]
    obs_httpx.instrument_httpx()
    obs_httpx.instrument_httpx()  # idempotent
    assert httpx.HTTPTransport.__dict__["handle_request"] is not sync_before
    obs_httpx.uninstrument_httpx()
    assert httpx.HTTPTransport.__dict__["handle_request"] is sync_before
    assert httpx.AsyncHTTPTransport.__dict__["handle_async_request"] is async_before
    seen = httpx.get(f"{server.url}/headers").json()
    assert "traceparent" not in seen
    assert obs_capture.spans == []


def test_found_by_the_registry(obs_capture, server):
    obs_capture.configure(instrument=["httpx"])
    assert obs_httpx.is_instrumented()
    httpx.get(f"{server.url}/headers")
    assert len(obs_capture.find("GET")) == 1
    obs.uninstrument("httpx")
    assert not obs_httpx.is_instrumented()


def test_a_user_client_span_around_the_call_is_not_doubled(instrumented, server):
    tracer = trace_api.get_tracer("user")
    with tracer.start_as_current_span("call customers", kind=SpanKind.CLIENT):
        httpx.get(f"{server.url}/headers")
    assert [s.name for s in instrumented.spans] == ["call customers"]


def test_query_redaction_follows_the_scrubbing_settings(obs_capture, server):
    obs_httpx.instrument_httpx()
    try:
        url = f"{server.url}/headers?national_id=123&sig=zzz&page=2"
        obs_capture.configure(scrubbing=obs.ScrubbingOptions(extra_patterns=[r"national[_ ]id"]))
        httpx.get(url)
        obs_capture.configure(scrubbing=False)
        httpx.get(url)
    finally:
        obs_httpx.uninstrument_httpx()
    first, second = (s.attributes["url.full"] for s in obs_capture.find("GET"))
    assert first.endswith("?national_id=REDACTED&sig=REDACTED&page=2")
    # Scrubbing off: the user's choice, except the convention's signature parameters.
    assert second.endswith("?national_id=123&sig=REDACTED&page=2")


async def test_concurrent_requests_keep_their_own_parents(instrumented, server):
    import asyncio

    async def one(client: httpx.AsyncClient, n: int) -> tuple[str, dict[str, str]]:
        with obs.span("job {n}", n=n):
            await asyncio.sleep(0)
            return f"job {n}", (await client.get(f"{server.url}/headers")).json()

    async with httpx.AsyncClient() as client:
        results = await asyncio.gather(*(one(client, n) for n in range(20)))
    spans = instrumented.find("GET")
    assert len(spans) == 20
    by_id = {s.context.span_id: s for s in spans}
    for job, seen in results:
        trace_id, span_id = _traceparent_ids(seen["traceparent"])
        request_span = by_id[span_id]
        assert request_span.context.trace_id == trace_id
        assert instrumented.parent(request_span).attributes["obs.msg"] == job
