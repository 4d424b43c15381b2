"""Chat completions, not streamed: the span, its GenAI attributes, content opt-in, metrics."""

from __future__ import annotations

import json
from typing import Any

import pydantic
import pytest
from opentelemetry.trace import SpanKind, StatusCode

import obs
import obs_openai
from obs.testing import Capture
from obs_openai.testing import stand_in_client

from .conftest import MESSAGES


def test_span_name_kind_and_request_attributes(instrumented: Capture, client: Any) -> None:
    completion = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,
        temperature=0.3,
        top_p=0.9,
        max_tokens=64,
        seed=7,
        stop=["\n\n", "END"],
        frequency_penalty=0.1,
        presence_penalty=0.2,
        service_tier="default",
    )
    span = instrumented.one("chat gpt-4o-mini")
    attrs = dict(span.attributes or {})
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    assert span.instrumentation_scope is not None
    assert span.instrumentation_scope.name == "obs.openai"
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.provider.name"] == "openai"
    assert attrs["gen_ai.request.model"] == "gpt-4o-mini"
    assert attrs["gen_ai.request.temperature"] == 0.3
    assert attrs["gen_ai.request.top_p"] == 0.9
    assert attrs["gen_ai.request.max_tokens"] == 64
    assert attrs["gen_ai.request.seed"] == 7
    assert attrs["gen_ai.request.stop_sequences"] == ("\n\n", "END")
    assert attrs["gen_ai.request.frequency_penalty"] == 0.1
    assert attrs["gen_ai.request.presence_penalty"] == 0.2
    assert attrs["openai.request.service_tier"] == "default"
    assert attrs["server.address"] == "stand-in.openai.local"
    assert attrs["server.port"] == 80
    assert attrs["gen_ai.response.id"] == completion.id
    assert attrs["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert attrs["gen_ai.usage.input_tokens"] == completion.usage.prompt_tokens
    assert attrs["gen_ai.usage.output_tokens"] == completion.usage.completion_tokens
    assert attrs["openai.response.system_fingerprint"] == "fp_standin"
    assert "gen_ai.request.stream" not in attrs


def test_cached_and_reasoning_tokens(instrumented: Capture, client: Any) -> None:
    client.chat.completions.create(
        model="o4-mini",
        messages=MESSAGES,
        max_completion_tokens=100,
        extra_headers={"x-stand-in-cached-tokens": "3", "x-stand-in-reasoning-tokens": "5"},
    )
    attrs = dict(instrumented.one("chat o4-mini").attributes or {})
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 3
    assert attrs["gen_ai.usage.reasoning.output_tokens"] == 5
    assert attrs["gen_ai.request.max_tokens"] == 100


def test_the_span_is_a_child_of_the_current_span(instrumented: Capture, client: Any) -> None:
    with obs.span("handle request"):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert instrumented.tree() == ["handle request", "  chat gpt-4o-mini"]


def test_prompts_and_completions_are_not_recorded_by_default(
    instrumented: Capture, client: Any
) -> None:
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    attrs = dict(instrumented.one("chat gpt-4o-mini").attributes or {})
    assert "gen_ai.input.messages" not in attrs
    assert "gen_ai.output.messages" not in attrs
    assert "Say hello" not in json.dumps({k: str(v) for k, v in attrs.items()})


def test_content_is_recorded_when_opted_in_via_configure(
    instrumented: Capture, client: Any
) -> None:
    instrumented.configure(capture_content=True)
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    attrs = dict(instrumented.one("chat gpt-4o-mini").attributes or {})
    assert json.loads(str(attrs["gen_ai.input.messages"])) == [
        {"role": "system", "parts": [{"type": "text", "content": "You are terse."}]},
        {"role": "user", "parts": [{"type": "text", "content": "Say hello to the world please"}]},
    ]
    output = json.loads(str(attrs["gen_ai.output.messages"]))
    assert output[0]["role"] == "assistant"
    assert output[0]["finish_reason"] == "stop"
    assert output[0]["parts"][0]["type"] == "text"
    assert output[0]["parts"][0]["content"].startswith("This is the stand-in reply")


def test_recorded_content_is_scrubbed(instrumented: Capture, client: Any) -> None:
    instrumented.configure(capture_content=True)
    secret = "sk-proj-" + "A1b2C3d4E5f6G7h8J9k0"
    client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": f"my key is {secret}, keep it safe"}],
    )
    span = instrumented.one("chat gpt-4o-mini")
    assert secret not in str(span.attributes)
    assert "scrubbed" in str((span.attributes or {})["gen_ai.input.messages"])


def test_per_instrumentation_option_overrides_the_setting(obs_capture: Capture) -> None:
    obs_capture.configure(capture_content=True)
    quiet = stand_in_client(max_retries=0)
    chatty = stand_in_client(max_retries=0)
    obs_openai.instrument_openai(quiet, capture_content=False)
    obs_openai.instrument_openai(chatty)
    try:
        quiet.chat.completions.create(model="quiet", messages=MESSAGES)
        chatty.chat.completions.create(model="chatty", messages=MESSAGES)
    finally:
        obs_openai.uninstrument_openai(quiet)
        obs_openai.uninstrument_openai(chatty)
    assert "gen_ai.input.messages" not in (obs_capture.one("chat quiet").attributes or {})
    assert "gen_ai.input.messages" in (obs_capture.one("chat chatty").attributes or {})


def test_tool_calls_in_content(instrumented: Capture, client: Any) -> None:
    instrumented.configure(capture_content=True)
    tools = [
        {
            "type": "function",
            "function": {"name": "search", "parameters": {"type": "object", "properties": {}}},
        }
    ]
    completion = client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, tools=tools, tool_choice="required"
    )
    call = completion.choices[0].message.tool_calls[0]
    history = [
        *MESSAGES,
        {"role": "assistant", "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": "found it"},
    ]
    client.chat.completions.create(model="gpt-4o", messages=history)
    first = dict(instrumented.one("chat gpt-4o-mini").attributes or {})
    assert first["gen_ai.response.finish_reasons"] == ("tool_calls",)
    output = json.loads(str(first["gen_ai.output.messages"]))
    assert output[0]["parts"] == [
        {"type": "tool_call", "id": call.id, "name": "search", "arguments": {"query": "stand-in"}}
    ]
    second = json.loads(
        str((instrumented.one("chat gpt-4o").attributes or {})["gen_ai.input.messages"])
    )
    assert second[2]["parts"][0]["type"] == "tool_call"
    assert second[3] == {
        "role": "tool",
        "parts": [{"type": "tool_call_response", "id": call.id, "response": "found it"}],
    }


def test_several_choices(instrumented: Capture, client: Any) -> None:
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, n=3)
    attrs = dict(instrumented.one("chat gpt-4o-mini").attributes or {})
    assert attrs["gen_ai.request.choice.count"] == 3
    assert attrs["gen_ai.response.finish_reasons"] == ("stop", "stop", "stop")


class Person(pydantic.BaseModel):
    name: str
    age: int


def test_structured_outputs_parse(instrumented: Capture, client: Any) -> None:
    completion = client.chat.completions.parse(
        model="gpt-4o", messages=MESSAGES, response_format=Person
    )
    assert isinstance(completion.choices[0].message.parsed, Person)
    attrs = dict(instrumented.one("chat gpt-4o").attributes or {})
    assert attrs["gen_ai.output.type"] == "json"
    assert attrs["gen_ai.usage.output_tokens"] == completion.usage.completion_tokens


async def test_async_chat(instrumented: Capture, async_client: Any) -> None:
    with obs.span("parent"):
        completion = await async_client.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, temperature=0
        )
    assert completion.choices[0].finish_reason == "stop"
    assert instrumented.tree() == ["parent", "  chat gpt-4o-mini"]
    attrs = dict(instrumented.one("chat gpt-4o-mini").attributes or {})
    assert attrs["gen_ai.request.temperature"] == 0
    assert attrs["gen_ai.usage.output_tokens"] == completion.usage.completion_tokens


async def test_async_parse(instrumented: Capture, async_client: Any) -> None:
    completion = await async_client.chat.completions.parse(
        model="gpt-4o", messages=MESSAGES, response_format=Person
    )
    assert completion.choices[0].message.parsed == Person(name="stand-in", age=0)
    assert instrumented.one("chat gpt-4o").attributes["gen_ai.output.type"] == "json"  # type: ignore[index]


def test_azure_client(instrumented: Capture) -> None:
    azure = stand_in_client(azure=True, max_retries=0)
    azure.chat.completions.create(model="my-deployment", messages=MESSAGES)
    attrs = dict(instrumented.one("chat my-deployment").attributes or {})
    assert attrs["gen_ai.provider.name"] == "azure.ai.openai"
    assert attrs["server.address"] == "stand-in.openai.azure.com"
    assert attrs["server.port"] == 443


def test_legacy_completions(instrumented: Capture, client: Any) -> None:
    client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Once upon", max_tokens=5)
    attrs = dict(instrumented.one("text_completion gpt-3.5-turbo-instruct").attributes or {})
    assert attrs["gen_ai.operation.name"] == "text_completion"
    assert attrs["gen_ai.request.max_tokens"] == 5
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)


def test_metrics(instrumented: Capture, client: Any) -> None:
    completion = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    metrics = instrumented.metrics()
    [duration] = metrics["gen_ai.client.inference.duration"]
    assert duration.count == 1
    common = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "server.address": "stand-in.openai.local",
        "server.port": 80,
    }
    assert duration.attributes == common
    [used_in] = metrics["gen_ai.client.inference.usage.input_tokens"]
    [used_out] = metrics["gen_ai.client.inference.usage.output_tokens"]
    assert used_in.value == completion.usage.prompt_tokens
    assert used_out.value == completion.usage.completion_tokens
    assert used_in.attributes == {**common, "gen_ai.token.modality": "unknown"}
    [per_call] = metrics["gen_ai.client.inference.operation.input_tokens"]
    assert per_call.sum == completion.usage.prompt_tokens
    assert "gen_ai.token.modality" not in per_call.attributes  # percentiles across modalities
    # the previous names only when asked for
    assert "gen_ai.client.operation.duration" not in metrics
    assert "gen_ai.client.token.usage" not in metrics
    # the histogram points went through bound handles, straight to the SDK's aggregations
    from obs._bound_metrics import fast_path_in_use
    from obs_openai import _instrument

    handles = [
        handle
        for shape in _instrument._state.shapes._data.values()
        for metric_set in shape.metric_sets._data.values()
        for _, handle in metric_set.handles._data.values()
    ]
    assert handles
    assert all(fast_path_in_use(handle) for handle in handles)


def test_previous_metric_names_on_request(
    instrumented: Capture, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", "http,gen_ai/dup")
    obs_openai.instrument_openai()  # the names are chosen when instrumenting
    completion = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    metrics = instrumented.metrics()
    assert metrics["gen_ai.client.inference.duration"][0].count == 1
    assert metrics["gen_ai.client.operation.duration"][0].count == 1
    tokens = {
        p.attributes["gen_ai.token.type"]: p.sum for p in metrics["gen_ai.client.token.usage"]
    }
    assert tokens == {
        "input": completion.usage.prompt_tokens,
        "output": completion.usage.completion_tokens,
    }


TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "lookup",
            "description": "Find an order",
            "parameters": {"type": "object", "properties": {"id": {"type": "string"}}},
        },
    }
]


def test_tool_definitions_under_content_capture(obs_capture: Capture, client: Any) -> None:
    obs_openai.instrument_openai(capture_content=True)
    try:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, tools=TOOLS)
    finally:
        obs_openai.uninstrument_openai()
    attrs = dict(obs_capture.one("chat gpt-4o-mini").attributes or {})
    [tool] = json.loads(str(attrs["gen_ai.tool.definitions"]))
    assert tool == {
        "type": "function",
        "name": "lookup",
        "description": "Find an order",
        "parameters": {"type": "object", "properties": {"id": {"type": "string"}}},
    }


@pytest.mark.parametrize(
    ("value", "captured"),
    [("true", True), ("SPAN_ONLY", True), ("span_and_event", True), ("False", False),
     ("NO_CONTENT", False), ("EVENT_ONLY", False)],
)  # fmt: skip
def test_standard_genai_capture_variable(
    obs_capture: Capture,
    client: Any,
    monkeypatch: pytest.MonkeyPatch,
    value: str,
    captured: bool,
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", value)
    obs_openai.instrument_openai()
    try:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, tools=TOOLS)
    finally:
        obs_openai.uninstrument_openai()
    attrs = dict(obs_capture.one("chat gpt-4o-mini").attributes or {})
    assert ("gen_ai.input.messages" in attrs) is captured
    assert ("gen_ai.tool.definitions" in attrs) is captured


def test_unknown_genai_capture_value_warns_and_is_ignored(
    obs_capture: Capture, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "maybe")
    with pytest.warns(RuntimeWarning, match="CAPTURE_MESSAGE_CONTENT"):
        obs_openai.instrument_openai()
    try:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    finally:
        obs_openai.uninstrument_openai()
    attrs = dict(obs_capture.one("chat gpt-4o-mini").attributes or {})
    assert "gen_ai.input.messages" not in attrs  # obs's own default: off


def test_a_secret_at_the_attribute_limit_leaves_no_prefix(
    obs_capture: Capture, client: Any
) -> None:
    """Prompts are scrubbed whole, then cut: a key straddling the 8,192-character limit must
    not leave its first characters behind (cut first, the rest is too short to recognise)."""
    secret = "sk-proj-" + "Ab1" * 16
    obs_openai.instrument_openai(capture_content=True)
    try:
        for pad in range(8080, 8200, 3):
            messages = [{"role": "user", "content": "x" * pad + " " + secret}]
            client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    finally:
        obs_openai.uninstrument_openai()
    for span in obs_capture.find("chat gpt-4o-mini"):
        recorded = str((span.attributes or {})["gen_ai.input.messages"])
        assert "sk-proj-Ab1Ab" not in recorded
