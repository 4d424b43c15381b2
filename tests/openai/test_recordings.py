"""obs-openai against real recorded OpenAI API traffic.

``../shared/recordings/openai/interactions.json`` (beside the project, not part of it) holds
102 replays of 92 real interactions with the OpenAI API (and Azure OpenAI, OpenRouter,
DeepSeek) recorded by other projects' test suites. Each replay drives the real ``openai``
client the way the recording's mode says (plain, async, ``with``, raw response, streaming
response, ``.stream()`` helper, an OpenAI-compatible base URL), with an httpx transport that
answers with the recorded bytes. The span obs records is compared with what an independent
reading of the recorded response says: ids, models, finish reasons, token counts, service tier,
fingerprint, errors.
"""

from __future__ import annotations

import base64
import inspect
import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import openai
import pytest
from opentelemetry.trace import StatusCode

from obs.testing import Capture
from obs_openai.testing import httpx_module

_HERE = Path(__file__).resolve()
_CANDIDATES = [
    Path(os.environ["OBS_OPENAI_RECORDINGS"]) if os.environ.get("OBS_OPENAI_RECORDINGS") else None,
    _HERE.parents[2].parent / "shared" / "recordings" / "openai",
]
RECORDINGS = next((p for p in _CANDIDATES if p and (p / "interactions.json").exists()), None)


def _load() -> list[dict[str, Any]]:
    if RECORDINGS is None:
        return []
    data: list[dict[str, Any]] = json.loads((RECORDINGS / "interactions.json").read_text())
    return data


INTERACTIONS = _load()


def _require_recordings() -> None:
    if RECORDINGS is None:
        message = (
            "the recorded OpenAI traffic (../shared/recordings/openai) is not beside the project"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


# -- the transport: the recorded answer, byte for byte -----------------------------------------


def _transport(interaction: dict[str, Any]) -> Any:
    httpx = httpx_module()
    recorded = interaction["response"]
    body = base64.b64decode(recorded["body_b64"])
    headers = [(k, v) for k, v in recorded["headers"] if k.lower() != "content-encoding"]
    expected_path = urlsplit(interaction["request"]["uri"]).path

    class Replay(httpx.BaseTransport, httpx.AsyncBaseTransport):  # type: ignore[misc,name-defined]
        def _answer(self, request: Any) -> Any:
            assert request.url.path == expected_path, (request.url.path, expected_path)
            return httpx.Response(
                recorded["status"], headers=headers, content=body, request=request
            )

        def handle_request(self, request: Any) -> Any:
            request.read()
            return self._answer(request)

        async def handle_async_request(self, request: Any) -> Any:
            await request.aread()
            return self._answer(request)

    return Replay()


def _client(interaction: dict[str, Any], async_: bool) -> Any:
    httpx = httpx_module()
    transport = _transport(interaction)
    http_client = (
        httpx.AsyncClient(transport=transport) if async_ else httpx.Client(transport=transport)
    )
    uri = urlsplit(interaction["request"]["uri"])
    common: dict[str, Any] = {"api_key": "sk-replay", "max_retries": 0, "http_client": http_client}
    if "/openai/deployments/" in uri.path:
        version = parse_qs(uri.query).get("api-version", ["2024-02-01"])[0]
        deployment = uri.path.split("/openai/deployments/")[1].split("/")[0]
        cls = openai.AsyncAzureOpenAI if async_ else openai.AzureOpenAI
        return cls(
            azure_endpoint=f"{uri.scheme}://{uri.netloc}",
            azure_deployment=deployment,
            api_version=version,
            **common,
        )
    path = uri.path
    for suffix in ("/chat/completions", "/responses", "/embeddings", "/completions"):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
            break
    cls = openai.AsyncOpenAI if async_ else openai.OpenAI
    return cls(base_url=f"{uri.scheme}://{uri.netloc}{path}", **common)


def _endpoint(interaction: dict[str, Any]) -> str:
    path = urlsplit(interaction["request"]["uri"]).path
    for suffix, name in (
        ("/chat/completions", "chat"),
        ("/responses", "responses"),
        ("/embeddings", "embeddings"),
        ("/completions", "completions"),
    ):
        if path.endswith(suffix):
            return name
    raise AssertionError(path)


def _arguments(interaction: dict[str, Any]) -> dict[str, Any]:
    body = dict(interaction["request"]["body"] or {})
    if _endpoint(interaction) == "embeddings" and body.get("encoding_format") == "base64":
        # The client asks for base64 itself when the caller names no format: replay the call
        # the way it was most likely made (no format named).
        body.pop("encoding_format")
    return body


def _resource(client: Any, endpoint: str) -> Any:
    if endpoint == "chat":
        return client.chat.completions
    return getattr(client, endpoint)


def _split(resource: Any, args: dict[str, Any]) -> dict[str, Any]:
    """Parameters the client has no argument for (a compatible server's own) go in extra_body."""
    known = inspect.signature(resource.create).parameters
    extra = {k: args.pop(k) for k in list(args) if k not in known}
    if extra:
        args["extra_body"] = extra
    return args


# -- driving the client as the recording's mode says --------------------------------------------


def _drive_sync(interaction: dict[str, Any]) -> None:
    mode = interaction["mode"]
    endpoint = _endpoint(interaction)
    resource = _resource(_client(interaction, async_=False), endpoint)
    args = _split(resource, _arguments(interaction))
    streamed = bool(args.get("stream"))
    try:
        if mode.endswith("+raw"):
            raw = resource.with_raw_response.create(**args)
            parsed = raw.parse()
            if streamed:
                for _ in parsed:
                    pass
        elif mode.endswith("+sresp"):
            with resource.with_streaming_response.create(**args) as response:
                parsed = response.parse()
                if streamed:
                    for _ in parsed:
                        pass
        elif mode.endswith("+helper"):
            args.pop("stream", None)
            with resource.stream(**args) as stream:
                for _ in stream:
                    pass
        elif mode.endswith("+ctx"):
            with resource.create(**args) as stream:
                for _ in stream:
                    pass
        else:
            result = resource.create(**args)
            if streamed:
                for _ in result:
                    pass
    except openai.APIStatusError:
        pass


async def _drive_async(interaction: dict[str, Any]) -> None:
    mode = interaction["mode"]
    endpoint = _endpoint(interaction)
    client = _client(interaction, async_=True)
    resource = _resource(client, endpoint)
    args = _split(resource, _arguments(interaction))
    streamed = bool(args.get("stream"))
    try:
        if mode.endswith("+raw"):
            raw = await resource.with_raw_response.create(**args)
            parsed = raw.parse()
            if inspect.isawaitable(parsed):
                parsed = await parsed
            if streamed:
                async for _ in parsed:
                    pass
        elif mode.endswith("+sresp"):
            async with resource.with_streaming_response.create(**args) as response:
                parsed = await response.parse()
                if streamed:
                    async for _ in parsed:
                        pass
        elif mode.endswith("+helper"):
            args.pop("stream", None)
            async with resource.stream(**args) as stream:
                async for _ in stream:
                    pass
        else:
            result = await resource.create(**args)
            if streamed:
                async for _ in result:
                    pass
    except openai.APIStatusError:
        pass
    finally:
        await client.close()


# -- what the recorded answer says, read independently of obs ----------------------------------


def _sse_events(body: bytes) -> list[dict[str, Any]]:
    events = []
    for block in body.decode("utf-8").split("\n\n"):
        data = "\n".join(
            line[5:].lstrip() for line in block.splitlines() if line.startswith("data:")
        )
        if data and data != "[DONE]":
            events.append(json.loads(data))
    return events


def _usage(usage: dict[str, Any] | None, endpoint: str, out: dict[str, Any]) -> None:
    if not usage:
        return
    if endpoint == "responses":
        names = ("input_tokens", "output_tokens", "input_tokens_details", "output_tokens_details")
    else:
        names = (
            "prompt_tokens",
            "completion_tokens",
            "prompt_tokens_details",
            "completion_tokens_details",
        )
    if isinstance(usage.get(names[0]), int):
        out["gen_ai.usage.input_tokens"] = usage[names[0]]
    if endpoint == "embeddings":
        return
    if isinstance(usage.get(names[1]), int):
        out["gen_ai.usage.output_tokens"] = usage[names[1]]
    cached = (usage.get(names[2]) or {}).get("cached_tokens")
    if cached:
        out["gen_ai.usage.cache_read.input_tokens"] = cached
    reasoning = (usage.get(names[3]) or {}).get("reasoning_tokens")
    if reasoning:
        out["gen_ai.usage.reasoning.output_tokens"] = reasoning


def _responses_reason(response: dict[str, Any]) -> str | None:
    status = response.get("status")
    if status == "completed":
        if any(item.get("type") == "function_call" for item in response.get("output") or ()):
            return "tool_calls"
        return "stop"
    if status == "incomplete":
        reason = (response.get("incomplete_details") or {}).get("reason")
        return {"max_output_tokens": "length"}.get(reason, reason or "incomplete")
    return None


def _from_response(response: dict[str, Any], endpoint: str, out: dict[str, Any]) -> None:
    for key, attribute in (("id", "gen_ai.response.id"), ("model", "gen_ai.response.model")):
        if isinstance(response.get(key), str) and response[key]:
            out[attribute] = response[key]
    if endpoint != "embeddings" and isinstance(response.get("service_tier"), str):
        out["openai.response.service_tier"] = response["service_tier"]
    if endpoint == "responses":
        reason = _responses_reason(response)
        if reason:
            out["gen_ai.response.finish_reasons"] = (reason,)
    elif endpoint != "embeddings":
        if isinstance(response.get("system_fingerprint"), str):
            out["openai.response.system_fingerprint"] = response["system_fingerprint"]
        reasons = tuple(
            c["finish_reason"] for c in response.get("choices") or () if c.get("finish_reason")
        )
        if reasons:
            out["gen_ai.response.finish_reasons"] = reasons
    _usage(response.get("usage"), endpoint, out)


def _from_chunks(chunks: list[dict[str, Any]], endpoint: str, out: dict[str, Any]) -> None:
    if endpoint == "responses":
        for event in chunks:
            if event.get("type") in (
                "response.completed",
                "response.incomplete",
                "response.failed",
            ):
                _from_response(event["response"], endpoint, out)
        return
    finish: dict[int, str] = {}
    for chunk in chunks:
        for key, attribute in (("id", "gen_ai.response.id"), ("model", "gen_ai.response.model")):
            value = chunk.get(key)
            if isinstance(value, str) and value and attribute not in out:
                out[attribute] = value  # the first non-empty one (Azure's first chunk has none)
        for key, attribute in (
            ("service_tier", "openai.response.service_tier"),
            ("system_fingerprint", "openai.response.system_fingerprint"),
        ):
            if isinstance(chunk.get(key), str) and chunk[key]:
                out[attribute] = chunk[key]
        for choice in chunk.get("choices") or ():
            if choice.get("finish_reason"):
                finish[choice.get("index", 0)] = choice["finish_reason"]
        _usage(chunk.get("usage"), endpoint, out)
    if finish:
        out["gen_ai.response.finish_reasons"] = tuple(finish[i] for i in sorted(finish))


OPERATIONS = {
    "chat": "chat",
    "responses": "chat",
    "embeddings": "embeddings",
    "completions": "text_completion",
}
API_TYPES = {
    "chat": "chat_completions",
    "responses": "responses",
    "embeddings": "embeddings",
    "completions": "completions",
}


def expected(interaction: dict[str, Any]) -> dict[str, Any]:
    endpoint = _endpoint(interaction)
    request = interaction["request"]["body"] or {}
    recorded = interaction["response"]
    body = base64.b64decode(recorded["body_b64"])
    out: dict[str, Any] = {
        "gen_ai.operation.name": OPERATIONS[endpoint],
        "openai.api.type": API_TYPES[endpoint],
    }
    if isinstance(request.get("model"), str):
        out["gen_ai.request.model"] = request["model"]
    if endpoint == "embeddings" and request.get("encoding_format") == "float":
        out["gen_ai.request.encoding_formats"] = ("float",)
    status = recorded["status"]
    if status >= 400:
        out["http.response.status_code"] = status
        return out
    content_type = dict((k.lower(), v) for k, v in recorded["headers"]).get("content-type", "")
    if "text/event-stream" in content_type:
        _from_chunks(_sse_events(body), endpoint, out)
    else:
        _from_response(json.loads(body), endpoint, out)
    return out


def _ids() -> list[str]:
    return [i["id"] for i in INTERACTIONS]


@pytest.mark.parametrize("index", range(len(INTERACTIONS)), ids=_ids())
async def test_replay_records_what_the_api_said(obs_capture: Capture, index: int) -> None:
    _require_recordings()
    import obs_openai

    interaction = INTERACTIONS[index]
    obs_openai.instrument_openai()
    try:
        if interaction["mode"].startswith("async"):
            await _drive_async(interaction)
        else:
            _drive_sync(interaction)
    finally:
        obs_openai.uninstrument_openai()
    spans = [
        s for s in obs_capture.spans if s.attributes and "gen_ai.operation.name" in s.attributes
    ]
    assert len(spans) == 1, [s.name for s in spans]
    [span] = spans
    attributes = dict(span.attributes or {})
    want = expected(interaction)
    got = {k: attributes.get(k) for k in want}
    assert got == want
    # Nothing the answer did not say: no token counts or response fields made up.
    for key in (
        "gen_ai.usage.cache_read.input_tokens",
        "gen_ai.usage.reasoning.output_tokens",
        "gen_ai.request.encoding_formats",
        "openai.response.service_tier",
        "openai.response.system_fingerprint",
    ):
        if key not in want:
            assert key not in attributes, key
    failed = interaction["response"]["status"] >= 400
    assert (span.status.status_code is StatusCode.ERROR) == failed


def test_every_replay_is_here() -> None:
    _require_recordings()
    assert len(INTERACTIONS) == 102
