"""The Responses API and embeddings: sync and async, streamed and not, ``.parse()``."""

from __future__ import annotations

import json
from typing import Any

import pydantic

from obs.testing import Capture


def test_responses_create(instrumented: Capture, client: Any) -> None:
    response = client.responses.create(
        model="gpt-4.1", input="Tell me a joke", temperature=0.5, max_output_tokens=200
    )
    attrs = dict(instrumented.one("chat gpt-4.1").attributes or {})
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.request.temperature"] == 0.5
    assert attrs["gen_ai.request.max_tokens"] == 200
    assert attrs["gen_ai.response.id"] == response.id
    assert attrs["gen_ai.response.model"] == "gpt-4.1-2024-07-18"
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert attrs["gen_ai.usage.input_tokens"] == response.usage.input_tokens
    assert attrs["gen_ai.usage.output_tokens"] == response.usage.output_tokens


def test_responses_incomplete_is_length(instrumented: Capture, client: Any) -> None:
    client.responses.create(model="gpt-4.1", input="long story", max_output_tokens=2)
    attrs = dict(instrumented.one("chat gpt-4.1").attributes or {})
    assert attrs["gen_ai.response.finish_reasons"] == ("length",)


def test_responses_content(instrumented: Capture, client: Any) -> None:
    instrumented.configure(capture_content=True)
    client.responses.create(
        model="gpt-4.1",
        instructions="Answer in French.",
        input=[{"role": "user", "content": [{"type": "input_text", "text": "Hello"}]}],
        conversation="conv_123",
    )
    attrs = dict(instrumented.one("chat gpt-4.1").attributes or {})
    assert json.loads(attrs["gen_ai.system_instructions"]) == [
        {"type": "text", "content": "Answer in French."}
    ]
    assert json.loads(attrs["gen_ai.input.messages"]) == [
        {"role": "user", "parts": [{"type": "text", "content": "Hello"}]}
    ]
    [output] = json.loads(attrs["gen_ai.output.messages"])
    assert output["finish_reason"] == "stop"
    assert output["parts"][0]["content"].startswith("This is")
    assert attrs["gen_ai.conversation.id"] == "conv_123"


def test_responses_stream(instrumented: Capture, client: Any) -> None:
    events = [e.type for e in client.responses.create(model="gpt-4.1", input="hi", stream=True)]
    assert events[0] == "response.created"
    assert events[-1] == "response.completed"
    attrs = dict(instrumented.one("chat gpt-4.1").attributes or {})
    assert attrs["gen_ai.request.stream"] is True
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert attrs["gen_ai.usage.output_tokens"] > 0
    assert attrs["gen_ai.response.time_to_first_chunk"] > 0


def test_responses_stream_break(instrumented: Capture, client: Any) -> None:
    stream = client.responses.create(model="gpt-4.1", input="hi", stream=True)
    for event in stream:
        if event.type == "response.output_text.delta":
            break
    attrs = dict(instrumented.one("chat gpt-4.1").attributes or {})
    assert attrs["gen_ai.response.id"].startswith("resp_")
    assert "gen_ai.usage.output_tokens" not in attrs
    stream.close()


def test_responses_stream_helper(instrumented: Capture, client: Any) -> None:
    with client.responses.stream(model="gpt-4.1", input="hi") as stream:
        for _ in stream:
            pass
        final = stream.get_final_response()
    attrs = dict(instrumented.one("chat gpt-4.1").attributes or {})
    assert attrs["gen_ai.usage.output_tokens"] == final.usage.output_tokens


class Answer(pydantic.BaseModel):
    answer: str
    confidence: float


def test_responses_parse(instrumented: Capture, client: Any) -> None:
    parsed = client.responses.parse(model="gpt-4.1", input="q", text_format=Answer)
    assert parsed.output_parsed == Answer(answer="stand-in", confidence=0.0)
    attrs = dict(instrumented.one("chat gpt-4.1").attributes or {})
    assert attrs["gen_ai.output.type"] == "json"
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)


async def test_async_responses(instrumented: Capture, async_client: Any) -> None:
    await async_client.responses.create(model="gpt-4.1", input="hi")
    stream = await async_client.responses.create(model="gpt-4.1", input="hi", stream=True)
    async with stream:
        async for _ in stream:
            pass
    spans = instrumented.find("chat gpt-4.1")
    assert len(spans) == 2
    assert all((s.attributes or {})["gen_ai.usage.output_tokens"] > 0 for s in spans)


def test_embeddings(instrumented: Capture, client: Any) -> None:
    result = client.embeddings.create(
        model="text-embedding-3-small", input=["one two", "three"], dimensions=4
    )
    assert len(result.data[0].embedding) == 4
    attrs = dict(instrumented.one("embeddings text-embedding-3-small").attributes or {})
    assert attrs["gen_ai.operation.name"] == "embeddings"
    assert attrs["gen_ai.embeddings.dimension.count"] == 4
    # The client asks for base64 itself when the caller names no format: nothing was requested.
    assert "gen_ai.request.encoding_formats" not in attrs
    assert attrs["openai.api.type"] == "embeddings"
    assert attrs["gen_ai.usage.input_tokens"] == result.usage.prompt_tokens
    assert "gen_ai.usage.output_tokens" not in attrs
    metrics = instrumented.metrics()
    [tokens] = metrics["gen_ai.client.embeddings.operation.input_tokens"]
    assert tokens.sum == result.usage.prompt_tokens
    assert metrics["gen_ai.client.embeddings.duration"][0].count == 1
    assert "gen_ai.client.inference.duration" not in metrics


async def test_async_embeddings(instrumented: Capture, async_client: Any) -> None:
    await async_client.embeddings.create(
        model="text-embedding-3-small", input="x", encoding_format="float"
    )
    attrs = dict(instrumented.one("embeddings text-embedding-3-small").attributes or {})
    assert attrs["gen_ai.request.encoding_formats"] == ("float",)
