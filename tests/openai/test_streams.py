"""Streams: the span ends exactly once however the stream is left, with what the chunks said.

Every way of leaving is exercised sync and async: exhausted, ``break``, ``close()``, the
context manager, garbage collection, a stream cut mid-way by the server; the returned object
still behaves like the client's own stream.
"""

from __future__ import annotations

import gc
import json
from typing import Any

import openai
import pytest
from openai import AsyncStream, Stream
from opentelemetry.trace import StatusCode

from obs.testing import Capture

from .conftest import MESSAGES

CHUNKS = 6
OPTIONS: dict[str, Any] = {
    "model": "gpt-4o-mini",
    "messages": MESSAGES,
    "stream": True,
    "stream_options": {"include_usage": True},
    "extra_headers": {"x-stand-in-chunks": str(CHUNKS)},
}


def only_span(capture: Capture) -> dict[str, Any]:
    [span] = capture.find("chat gpt-4o-mini")
    return dict(span.attributes or {})


def assert_complete(capture: Capture) -> None:
    attrs = only_span(capture)
    assert attrs["gen_ai.request.stream"] is True
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert attrs["gen_ai.usage.output_tokens"] == CHUNKS
    assert attrs["gen_ai.usage.input_tokens"] > 0
    assert attrs["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"
    assert attrs["gen_ai.response.id"].startswith("chatcmpl-")
    assert attrs["gen_ai.response.time_to_first_chunk"] > 0


def assert_open(capture: Capture) -> None:
    assert capture.find("chat gpt-4o-mini") == []


def assert_ended_early(capture: Capture) -> None:
    attrs = only_span(capture)
    assert "gen_ai.response.finish_reasons" not in attrs
    assert "gen_ai.usage.output_tokens" not in attrs
    assert attrs["gen_ai.response.time_to_first_chunk"] > 0


# -- sync -------------------------------------------------------------------------------------


def test_exhausted(instrumented: Capture, client: Any) -> None:
    stream = client.chat.completions.create(**OPTIONS)
    assert_open(instrumented)
    chunks = list(stream)
    assert len(chunks) == CHUNKS + 3  # role, content..., finish, usage
    assert_complete(instrumented)
    stream.close()
    del stream
    gc.collect()
    assert len(instrumented.find("chat gpt-4o-mini")) == 1


def test_iterating_a_temporary(instrumented: Capture, client: Any) -> None:
    texts = [
        c.choices[0].delta.content for c in client.chat.completions.create(**OPTIONS) if c.choices
    ]
    assert "".join(t or "" for t in texts).startswith("This is")
    assert_complete(instrumented)


def test_break(instrumented: Capture, client: Any) -> None:
    stream = client.chat.completions.create(**OPTIONS)
    for index, _ in enumerate(stream):
        if index == 2:
            break
    assert_ended_early(instrumented)
    # The client's stream is untouched: iteration can continue, the span stays ended once.
    rest = list(stream)
    assert len(rest) == CHUNKS + 3 - 3
    assert len(instrumented.find("chat gpt-4o-mini")) == 1


def test_close(instrumented: Capture, client: Any) -> None:
    stream = client.chat.completions.create(**OPTIONS)
    next(stream)
    assert_open(instrumented)
    stream.close()
    assert stream.response.is_closed
    assert_ended_early(instrumented)
    stream.close()
    assert len(instrumented.find("chat gpt-4o-mini")) == 1


def test_context_manager(instrumented: Capture, client: Any) -> None:
    with client.chat.completions.create(**OPTIONS) as stream:
        assert isinstance(stream, Stream)
        first = next(iter(stream))
        assert first.choices[0].delta.role == "assistant"
    assert stream.response.is_closed
    assert_ended_early(instrumented)


def test_context_manager_fully_read(instrumented: Capture, client: Any) -> None:
    with client.chat.completions.create(**OPTIONS) as stream:
        for _ in stream:
            pass
    assert_complete(instrumented)


def test_next_until_exhausted(instrumented: Capture, client: Any) -> None:
    stream = client.chat.completions.create(**OPTIONS)
    count = 0

    def pull() -> None:
        nonlocal count
        while True:
            next(stream)
            count += 1

    with pytest.raises(StopIteration):
        pull()
    assert count == CHUNKS + 3
    assert_complete(instrumented)


def test_garbage_collected(instrumented: Capture, client: Any) -> None:
    stream = client.chat.completions.create(**OPTIONS)
    next(stream)
    assert_open(instrumented)
    del stream
    gc.collect()
    assert_ended_early(instrumented)


def test_never_iterated_then_collected(instrumented: Capture, client: Any) -> None:
    stream = client.chat.completions.create(**OPTIONS)
    del stream
    gc.collect()
    attrs = only_span(instrumented)
    assert "gen_ai.response.time_to_first_chunk" not in attrs


def test_cut_mid_way(instrumented: Capture, client: Any) -> None:
    options = {**OPTIONS, "extra_headers": {"x-stand-in-cut-after": "3"}}
    stream = client.chat.completions.create(**options)
    received: list[Any] = []
    with pytest.raises(openai.APIConnectionError):
        received.extend(stream)
    assert len(received) == 3
    [span] = instrumented.find("chat gpt-4o-mini")
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == "openai.APIConnectionError"
    assert [e.name for e in span.events] == ["exception"]
    [duration] = instrumented.metrics()["gen_ai.client.inference.duration"]
    assert duration.attributes["error.type"] == "openai.APIConnectionError"


def test_stream_behaves_like_the_clients_own(instrumented: Capture, client: Any) -> None:
    stream = client.chat.completions.create(**OPTIONS)
    assert isinstance(stream, Stream)
    assert stream.__class__ is Stream
    assert stream.response.status_code == 200
    assert stream.response.headers["content-type"] == "text/event-stream"
    assert stream._cast_to.__name__ == "ChatCompletionChunk"
    with stream as entered:
        assert entered is stream
    stream.close()


def test_stream_helper(instrumented: Capture, client: Any) -> None:
    with client.chat.completions.stream(
        model="gpt-4o-mini", messages=MESSAGES, stream_options={"include_usage": True}
    ) as stream:
        for _ in stream:
            pass
        final = stream.get_final_completion()
    assert final.choices[0].finish_reason == "stop"
    assert only_span(instrumented)["gen_ai.response.finish_reasons"] == ("stop",)


def test_streamed_content_is_assembled_when_opted_in(instrumented: Capture, client: Any) -> None:
    instrumented.configure(capture_content=True)
    text = "".join(
        c.choices[0].delta.content or ""
        for c in client.chat.completions.create(**OPTIONS)
        if c.choices
    )
    output = json.loads(only_span(instrumented)["gen_ai.output.messages"])
    assert output == [
        {"role": "assistant", "parts": [{"type": "text", "content": text}], "finish_reason": "stop"}
    ]


def test_streamed_tool_call_content(instrumented: Capture, client: Any) -> None:
    instrumented.configure(capture_content=True)
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {}}}]
    list(client.chat.completions.create(**OPTIONS, tools=tools, tool_choice="required"))
    attrs = only_span(instrumented)
    assert attrs["gen_ai.response.finish_reasons"] == ("tool_calls",)
    [message] = json.loads(attrs["gen_ai.output.messages"])
    assert message["parts"][0]["type"] == "tool_call"
    assert message["parts"][0]["name"] == "lookup"
    assert message["parts"][0]["arguments"] == {"query": "stand-in"}


def test_stream_without_usage_chunk(instrumented: Capture, client: Any) -> None:
    options = {k: v for k, v in OPTIONS.items() if k != "stream_options"}
    list(client.chat.completions.create(**options))
    attrs = only_span(instrumented)
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert "gen_ai.usage.output_tokens" not in attrs


def test_stream_metrics(instrumented: Capture, client: Any) -> None:
    list(client.chat.completions.create(**OPTIONS))
    metrics = instrumented.metrics()
    assert metrics["gen_ai.client.inference.duration"][0].count == 1
    [first_chunk] = metrics["gen_ai.client.inference.time_to_first_chunk"]
    assert first_chunk.count == 1
    assert 0 < first_chunk.sum <= metrics["gen_ai.client.inference.duration"][0].sum
    [output] = metrics["gen_ai.client.inference.usage.output_tokens"]
    assert output.value == CHUNKS
    assert output.attributes["gen_ai.token.modality"] == "unknown"
    [per_call] = metrics["gen_ai.client.inference.operation.output_tokens"]
    assert per_call.sum == CHUNKS


def test_stream_without_usage_still_counts_the_call(instrumented: Capture, client: Any) -> None:
    options = {k: v for k, v in OPTIONS.items() if k != "stream_options"}
    list(client.chat.completions.create(**options))
    metrics = instrumented.metrics()
    [output] = metrics["gen_ai.client.inference.usage.output_tokens"]
    assert (output.value, output.attributes["gen_ai.token.modality"]) == (0, "unknown")
    assert "gen_ai.client.inference.operation.output_tokens" not in metrics


def test_over_real_http(instrumented: Capture, server: Any) -> None:
    real = openai.OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0)
    for index, _ in enumerate(real.chat.completions.create(**OPTIONS)):
        if index == 1:
            break
    assert_ended_early(instrumented)
    instrumented.clear()
    list(real.chat.completions.create(**OPTIONS))
    assert_complete(instrumented)
    assert only_span(instrumented)["server.address"] == "127.0.0.1"
    assert only_span(instrumented)["server.port"] == server.port
    instrumented.clear()
    stream = real.chat.completions.create(
        **{**OPTIONS, "extra_headers": {"x-stand-in-cut-after": "2"}}
    )
    with pytest.raises(openai.APIConnectionError):
        list(stream)
    [span] = instrumented.find("chat gpt-4o-mini")
    assert span.status.status_code is StatusCode.ERROR
    real.close()


# -- async ------------------------------------------------------------------------------------


async def test_async_exhausted(instrumented: Capture, async_client: Any) -> None:
    stream = await async_client.chat.completions.create(**OPTIONS)
    assert_open(instrumented)
    chunks = [chunk async for chunk in stream]
    assert len(chunks) == CHUNKS + 3
    assert_complete(instrumented)


async def test_async_break(instrumented: Capture, async_client: Any) -> None:
    stream = await async_client.chat.completions.create(**OPTIONS)
    index = 0
    async for _ in stream:
        index += 1
        if index == 2:
            break
    assert_ended_early(instrumented)
    await stream.close()
    assert len(instrumented.find("chat gpt-4o-mini")) == 1


async def test_async_close_and_aclose(instrumented: Capture, async_client: Any) -> None:
    stream = await async_client.chat.completions.create(**OPTIONS)
    await stream.__anext__()
    await stream.close()
    assert stream.response.is_closed
    assert_ended_early(instrumented)
    instrumented.clear()
    stream = await async_client.chat.completions.create(**OPTIONS)
    await stream.__anext__()
    await stream.aclose()
    assert_ended_early(instrumented)


async def test_async_with(instrumented: Capture, async_client: Any) -> None:
    async with await async_client.chat.completions.create(**OPTIONS) as stream:
        assert isinstance(stream, AsyncStream)
        async for chunk in stream:
            assert chunk.object == "chat.completion.chunk"
            break
    assert stream.response.is_closed
    assert_ended_early(instrumented)


async def test_async_with_fully_read(instrumented: Capture, async_client: Any) -> None:
    async with await async_client.chat.completions.create(**OPTIONS) as stream:
        async for _ in stream:
            pass
    assert_complete(instrumented)


async def test_async_anext_until_exhausted(instrumented: Capture, async_client: Any) -> None:
    stream = await async_client.chat.completions.create(**OPTIONS)
    count = 0

    async def pull() -> None:
        nonlocal count
        while True:
            await stream.__anext__()
            count += 1

    with pytest.raises(StopAsyncIteration):
        await pull()
    assert count == CHUNKS + 3
    assert_complete(instrumented)


async def test_async_garbage_collected(instrumented: Capture, async_client: Any) -> None:
    stream = await async_client.chat.completions.create(**OPTIONS)
    await stream.__anext__()
    assert_open(instrumented)
    await stream.response.aclose()  # release the connection; only the proxy is dropped
    del stream
    gc.collect()
    assert_ended_early(instrumented)


async def test_async_cut_mid_way(instrumented: Capture, async_client: Any) -> None:
    options = {**OPTIONS, "extra_headers": {"x-stand-in-cut-after": "4"}}
    stream = await async_client.chat.completions.create(**options)
    received: list[Any] = []

    async def drain() -> None:
        async for chunk in stream:
            received.append(chunk)

    with pytest.raises(openai.APIConnectionError):
        await drain()
    assert len(received) == 4
    [span] = instrumented.find("chat gpt-4o-mini")
    assert span.status.status_code is StatusCode.ERROR


async def test_async_over_real_http(instrumented: Capture, server: Any) -> None:
    real = openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0)
    async with await real.chat.completions.create(**OPTIONS) as stream:
        async for _ in stream:
            pass
    assert_complete(instrumented)
    instrumented.clear()
    stream = await real.chat.completions.create(
        **{**OPTIONS, "extra_headers": {"x-stand-in-cut-after": "2"}}
    )
    with pytest.raises(openai.APIConnectionError):
        async for _ in stream:
            pass
    [span] = instrumented.find("chat gpt-4o-mini")
    assert span.status.status_code is StatusCode.ERROR
    await real.close()
