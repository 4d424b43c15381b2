"""Streaming responses end their span exactly once (consumed, closed, left, or collected),
and a request the OpenAI integration records stays one span."""

from __future__ import annotations

import gc
import time
import warnings

import httpx
import openai
import pytest

import obs
import obs_openai
from obs_openai.testing import StandInServer
from tests.httpx.conftest import CHUNKS


def _ended_once(capture, name="GET"):
    [span] = capture.find(name)  # one span, ended (only ended spans are captured)
    return span


def test_span_ends_when_the_stream_is_consumed_not_when_headers_arrive(instrumented, server):
    with httpx.Client() as client, client.stream("GET", f"{server.url}/stream") as response:
        assert instrumented.find("GET") == []  # headers are in; the body is not
        lines = list(response.iter_lines())
        read_done = time.time_ns()
    assert len(lines) == CHUNKS
    span = _ended_once(instrumented)
    assert span.end_time <= read_done  # ended as the last chunk was read
    # The body took ~100 ms to arrive; the span covers it.
    assert (span.end_time - span.start_time) / 1e9 > 0.08


def test_stream_left_early_ends_once_at_close(instrumented, server):
    with httpx.Client() as client:
        with client.stream("GET", f"{server.url}/stream") as response:
            for _ in response.iter_lines():
                break
            assert instrumented.find("GET") == []
        span = _ended_once(instrumented)
        assert span.status.status_code.name == "UNSET"  # leaving early is not an error


def test_stream_never_closed_ends_when_collected(instrumented, server):
    client = httpx.Client()
    request = client.build_request("GET", f"{server.url}/stream")
    response = client.send(request, stream=True)
    assert instrumented.find("GET") == []
    del response, request
    gc.collect()
    _ended_once(instrumented)
    client.close()


def test_no_double_end_warning(instrumented, server):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with httpx.Client() as client:
            response = client.get(f"{server.url}/stream")  # read fully, then closed by httpx
            response.close()
            response.close()
    _ended_once(instrumented)


async def test_async_stream(instrumented, server):
    client = httpx.AsyncClient()
    async with client, client.stream("GET", f"{server.url}/stream") as response:
        chunks = [line async for line in response.aiter_lines()]
        assert len(chunks) == CHUNKS
    span = _ended_once(instrumented)
    assert span.attributes["http.response.status_code"] == 200


async def test_async_stream_left_early(instrumented, server):
    client = httpx.AsyncClient()
    async with client, client.stream("GET", f"{server.url}/stream") as response:
        async for _ in response.aiter_lines():
            break
        assert instrumented.find("GET") == []
    _ended_once(instrumented)


@pytest.fixture
def openai_server():
    with StandInServer() as running:
        yield running


def test_openai_call_stays_one_span(instrumented, openai_server):
    obs_openai.instrument_openai()
    try:
        client = openai.OpenAI(base_url=openai_server.base_url, api_key="sk-test-0123456789")
        with obs.span("reply"):
            client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
            )
            stream = client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
            )
            for _ in stream:
                pass
    finally:
        obs_openai.uninstrument_openai()
    assert instrumented.tree() == ["reply", "  chat gpt-4o-mini", "  chat gpt-4o-mini"]
    assert "http.client.request.duration" not in instrumented.metrics()


async def test_async_openai_call_stays_one_span(instrumented, openai_server):
    obs_openai.instrument_openai()
    try:
        client = openai.AsyncOpenAI(base_url=openai_server.base_url, api_key="sk-test-0123456789")
        await client.embeddings.create(model="text-embedding-3-small", input="hi")
    finally:
        obs_openai.uninstrument_openai()
    assert [s.name for s in instrumented.spans] == ["embeddings text-embedding-3-small"]


def test_openai_client_without_obs_openai_gets_http_spans(instrumented, openai_server):
    # Without the OpenAI integration, the HTTP span is all there is: it must be recorded.
    client = openai.OpenAI(base_url=openai_server.base_url, api_key="sk-test-0123456789")
    client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    )
    assert [s.name for s in instrumented.spans] == ["POST"]


def _sampled_out_parent():
    from opentelemetry import trace as trace_api

    context = trace_api.SpanContext(
        trace_id=0x5CE0E9A56015FEC5AADFA328AE398115,
        span_id=0xAB54A98CEB1F0AD2,
        is_remote=True,
        trace_flags=trace_api.TraceFlags(0),  # not sampled: what follows is not recorded
    )
    return trace_api.use_span(trace_api.NonRecordingSpan(context))


def test_sampled_out_openai_call_gets_no_http_span_or_metric(instrumented, openai_server):
    """obs-openai suppresses HTTP client spans around its request even when its own span is
    sampled out: obs-httpx then records nothing (no span, no duration point) of its own."""
    sent: list[httpx.Headers] = []

    class Recording(httpx.HTTPTransport):
        # Beneath obs-httpx's wrapper: sees the request as obs-httpx left it.
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            response = super().handle_request(request)
            sent.append(request.headers)
            return response

    obs_openai.instrument_openai()
    try:
        client = openai.OpenAI(
            base_url=openai_server.base_url,
            api_key="sk-test-0123456789",
            http_client=httpx.Client(transport=Recording()),
        )
        with client, _sampled_out_parent():
            client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
            )
    finally:
        obs_openai.uninstrument_openai()
    assert instrumented.spans == []
    assert "http.client.request.duration" not in instrumented.metrics()
    (headers,) = sent
    assert "traceparent" not in headers  # obs-httpx injected nothing of its own


async def test_sampled_out_async_openai_call_gets_no_http_metric(instrumented, openai_server):
    obs_openai.instrument_openai()
    try:
        client = openai.AsyncOpenAI(base_url=openai_server.base_url, api_key="sk-test-0123456789")
        with _sampled_out_parent():
            await client.embeddings.create(model="text-embedding-3-small", input="hi")
    finally:
        obs_openai.uninstrument_openai()
    assert instrumented.spans == []
    assert "http.client.request.duration" not in instrumented.metrics()
