"""``with_raw_response`` and ``with_streaming_response``, sync and async, streamed and not."""

from __future__ import annotations

import gc
from typing import Any

from openai import AsyncStream, Stream

from obs.testing import Capture

from .conftest import MESSAGES

STREAM: dict[str, Any] = {
    "model": "gpt-4o-mini",
    "messages": MESSAGES,
    "stream": True,
    "stream_options": {"include_usage": True},
}


def attrs_of(capture: Capture) -> dict[str, Any]:
    return dict(capture.one("chat gpt-4o-mini").attributes or {})


def test_raw_response(instrumented: Capture, client: Any) -> None:
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES)
    assert raw.headers["x-request-id"].startswith("req_standin_")
    attrs = attrs_of(instrumented)  # ended at once: the answer is complete
    completion = raw.parse()
    assert attrs["gen_ai.response.id"] == completion.id
    assert attrs["gen_ai.usage.output_tokens"] == completion.usage.completion_tokens


def test_raw_streamed_response(instrumented: Capture, client: Any) -> None:
    raw = client.chat.completions.with_raw_response.create(**STREAM)
    assert raw.status_code == 200
    stream = raw.parse()
    assert isinstance(stream, Stream)
    del raw
    gc.collect()
    assert instrumented.find("chat gpt-4o-mini") == []  # the stream, not the response, ends it
    list(stream)
    assert attrs_of(instrumented)["gen_ai.usage.output_tokens"] > 0


def test_raw_streamed_response_parsed_inline(instrumented: Capture, client: Any) -> None:
    for _ in client.chat.completions.with_raw_response.create(**STREAM).parse():
        pass
    assert attrs_of(instrumented)["gen_ai.response.finish_reasons"] == ("stop",)


def test_streaming_response(instrumented: Capture, client: Any) -> None:
    with client.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=MESSAGES
    ) as response:
        assert instrumented.find("chat gpt-4o-mini") == []
        completion = response.parse()
    assert attrs_of(instrumented)["gen_ai.response.id"] == completion.id


def test_streaming_response_read_raw_lines(instrumented: Capture, client: Any) -> None:
    with client.chat.completions.with_streaming_response.create(**STREAM) as response:
        lines = [line for line in response.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    attrs = attrs_of(instrumented)  # ended when the response closed
    assert attrs["gen_ai.request.stream"] is True


def test_streaming_response_streamed(instrumented: Capture, client: Any) -> None:
    with client.chat.completions.with_streaming_response.create(**STREAM) as response:
        for _ in response.parse():
            pass
    assert attrs_of(instrumented)["gen_ai.usage.output_tokens"] > 0


async def test_async_raw_response(instrumented: Capture, async_client: Any) -> None:
    raw = await async_client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=MESSAGES
    )
    assert attrs_of(instrumented)["gen_ai.response.id"] == raw.parse().id


async def test_async_raw_streamed_response(instrumented: Capture, async_client: Any) -> None:
    raw = await async_client.chat.completions.with_raw_response.create(**STREAM)
    stream = raw.parse()
    assert isinstance(stream, AsyncStream)
    async with stream:
        async for _ in stream:
            pass
    assert attrs_of(instrumented)["gen_ai.usage.output_tokens"] > 0


async def test_async_streaming_response(instrumented: Capture, async_client: Any) -> None:
    async with async_client.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=MESSAGES
    ) as response:
        completion = await response.parse()
    assert attrs_of(instrumented)["gen_ai.response.id"] == completion.id
    instrumented.clear()
    async with async_client.chat.completions.with_streaming_response.create(**STREAM) as response:
        async for _ in await response.parse():
            pass
    assert attrs_of(instrumented)["gen_ai.response.finish_reasons"] == ("stop",)
    instrumented.clear()
    async with async_client.chat.completions.with_streaming_response.create(**STREAM) as response:
        pass
    assert "gen_ai.response.id" not in attrs_of(instrumented)
