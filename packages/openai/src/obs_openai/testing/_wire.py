"""The stand-in's answers: OpenAI's documented JSON and server-sent-event wire formats.

One pure function, :func:`respond`, turns a request (method, path, headers, body) into a
:class:`Reply`; the in-process transport and the loopback HTTP server only carry it. Answers are
deterministic (same request, same bytes apart from ids and timestamps), so tests can assert on
token counts and finish reasons.

Per-request behaviour is steered by ``x-stand-in-*`` request headers (the OpenAI client sends
them through ``extra_headers=``), so one server can play every scenario:

``x-stand-in-status: 429``        answer with that error status and an OpenAI error body
``x-stand-in-chunks: 20``         number of content chunks of a streamed answer
``x-stand-in-cut-after: 3``       break a streamed answer off after that many events
``x-stand-in-delay: 0.5``         wait before answering (seconds), to provoke client timeouts
``x-stand-in-cached-tokens: 4``   cached input tokens reported in the usage
``x-stand-in-reasoning-tokens: 2``  reasoning output tokens reported in the usage
``x-stand-in-connect-error: 1``   (in-process transport only) fail as if the host were down
"""

from __future__ import annotations

import base64
import itertools
import json
import struct
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: The reply text, split into words for streamed answers (cycled when more chunks are asked for).
REPLY_TEXT = "This is the stand-in reply from a local OpenAI-compatible server."
DEFAULT_CHUNKS = 8
#: Real OpenAI answers with a dated snapshot of the requested model; the stand-in mimics that.
MODEL_SUFFIX = "-2024-07-18"

_ERRORS: dict[int, tuple[str, str, str]] = {
    400: ("invalid_request_error", "invalid_request", "The request was invalid."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided: {key}."),
    403: ("invalid_request_error", "forbidden", "You are not allowed to use this model."),
    404: ("invalid_request_error", "model_not_found", "The model does not exist."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests."),
    500: ("server_error", "server_error", "The server had an error processing your request."),
    503: ("server_error", "overloaded", "The engine is currently overloaded."),
}

_ids = itertools.count(1)


@dataclass
class Reply:
    """What the server sends: a status, headers and either a body or SSE events."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    #: Server-sent events, each already framed (``data: ...\n\n``); None for a plain body.
    events: list[bytes] | None = None
    #: Send only this many events, then break the connection off (a stream cut mid-way).
    cut_after: int | None = None
    delay: float = 0.0
    #: The in-process transport raises a connection error instead of answering.
    connect_error: bool = False


def _json_reply(status: int, payload: object, request_id: str) -> Reply:
    return Reply(
        status,
        {"content-type": "application/json", "x-request-id": request_id},
        json.dumps(payload).encode(),
    )


def _sse(payload: object, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(payload)}\n\n".encode()


def _int_header(headers: Mapping[str, str], name: str, default: int | None) -> int | None:
    raw = headers.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        return default


def _words(count: int) -> list[str]:
    words = REPLY_TEXT.split(" ")
    picked = list(itertools.islice(itertools.cycle(words), count))
    return [w if i == 0 else " " + w for i, w in enumerate(picked)]


def _count_tokens(value: object) -> int:
    """A rough, deterministic token count: words in every string of the input."""
    if isinstance(value, str):
        return max(1, len(value.split()))
    if isinstance(value, Mapping):
        return sum(_count_tokens(v) for k, v in value.items() if k in ("content", "text", "input"))
    if isinstance(value, list):
        return sum(_count_tokens(v) for v in value)
    return 0


def _example(schema: Mapping[str, Any], depth: int = 0) -> Any:
    """A minimal instance of a JSON schema, so structured-output parsing succeeds."""
    if depth > 6:
        return None
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            return _example(schema[key][0], depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {name: _example(sub, depth + 1) for name, sub in props.items()}
    if kind == "array":
        return []
    if kind == "integer":
        return 0
    if kind == "number":
        return 0.0
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return "stand-in"


class _Request:
    def __init__(self, headers: Mapping[str, str], body: Mapping[str, Any]) -> None:
        self.headers = headers
        self.body = body
        self.model = str(body.get("model") or "gpt-4o-mini")
        self.response_model = self.model + MODEL_SUFFIX
        self.stream = bool(body.get("stream"))
        self.chunks = max(1, _int_header(headers, "x-stand-in-chunks", DEFAULT_CHUNKS) or 1)
        self.cached = _int_header(headers, "x-stand-in-cached-tokens", 0) or 0
        self.reasoning = _int_header(headers, "x-stand-in-reasoning-tokens", 0) or 0
        self.id = next(_ids)
        self.created = int(time.time())


def respond(method: str, path: str, headers: Mapping[str, str], body: bytes) -> Reply:
    """The stand-in's answer to one HTTP request (``headers`` with lower-case names)."""
    request_id = f"req_standin_{next(_ids)}"
    path = path.split("?", 1)[0].rstrip("/")
    try:
        payload = json.loads(body) if body else {}
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        return _error(400, request_id, headers, "The body is not a JSON object.")
    status = _int_header(headers, "x-stand-in-status", None)
    if status is not None and status >= 400:
        reply = _error(status, request_id, headers)
    elif method.upper() != "POST":
        reply = _error(404, request_id, headers, f"Unknown route {method} {path}.")
    else:
        req = _Request(headers, payload)
        if path.endswith("/chat/completions"):
            reply = _chat(req, request_id)
        elif path.endswith("/responses"):
            reply = _responses(req, request_id)
        elif path.endswith("/embeddings"):
            reply = _embeddings(req, request_id)
        elif path.endswith("/completions"):
            reply = _completions(req, request_id)
        else:
            reply = _error(404, request_id, headers, f"Unknown route {method} {path}.")
    cut = _int_header(headers, "x-stand-in-cut-after", None)
    if cut is not None and reply.events is not None:
        reply.cut_after = max(0, cut)
    try:
        reply.delay = float(headers.get("x-stand-in-delay", "0"))
    except ValueError:
        reply.delay = 0.0
    reply.connect_error = headers.get("x-stand-in-connect-error") == "1"
    return reply


def _error(
    status: int, request_id: str, headers: Mapping[str, str], message: str | None = None
) -> Reply:
    kind, code, text = _ERRORS.get(status, ("server_error", "error", "The request failed."))
    auth = headers.get("authorization", "")
    # Like the real service, the 401 message names the key it rejected (the real one masks
    # most of it; this one does not, so tests prove the key never reaches telemetry).
    text = text.format(key=auth.removeprefix("Bearer ").strip() or "<none>")
    reply = _json_reply(
        status,
        {"error": {"message": message or text, "type": kind, "param": None, "code": code}},
        request_id,
    )
    if status == 429:
        reply.headers["retry-after"] = "0"
    return reply


# -- chat completions ---------------------------------------------------------------------------


def _chat_tool_call(req: _Request) -> dict[str, Any] | None:
    """A tool call when the request forces one (``tool_choice`` "required" or a named tool)."""
    tools = req.body.get("tools") or []
    choice = req.body.get("tool_choice")
    if not tools or choice in (None, "none", "auto"):
        return None
    name = None
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name")
    if name is None:
        name = ((tools[0] or {}).get("function") or {}).get("name", "tool")
    return {
        "id": f"call_standin_{req.id}",
        "type": "function",
        "function": {"name": name, "arguments": json.dumps({"query": "stand-in"})},
    }


def _chat_text(req: _Request) -> str:
    fmt = req.body.get("response_format") or {}
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        schema = (fmt.get("json_schema") or {}).get("schema") or {}
        return json.dumps(_example(schema))
    if isinstance(fmt, dict) and fmt.get("type") == "json_object":
        return json.dumps({"reply": REPLY_TEXT})
    return "".join(_words(req.chunks))


def _chat_usage(req: _Request, completion_tokens: int) -> dict[str, Any]:
    prompt = _count_tokens(req.body.get("messages") or [])
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": req.cached, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": req.reasoning,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _chat(req: _Request, request_id: str) -> Reply:
    tool_call = _chat_tool_call(req)
    n = max(1, int(req.body.get("n") or 1))
    base = {
        "id": f"chatcmpl-standin-{req.id}",
        "created": req.created,
        "model": req.response_model,
        "system_fingerprint": "fp_standin",
        "service_tier": "default",
    }
    finish = "tool_calls" if tool_call else "stop"
    if not req.stream:
        text = None if tool_call else _chat_text(req)
        message: dict[str, Any] = {
            "role": "assistant",
            "content": text,
            "refusal": None,
            "annotations": [],
        }
        if tool_call:
            message["tool_calls"] = [tool_call]
        choices = [
            {"index": i, "message": message, "logprobs": None, "finish_reason": finish}
            for i in range(n)
        ]
        tokens = (1 if tool_call else len((text or "").split())) * n
        payload = {
            **base,
            "object": "chat.completion",
            "choices": choices,
            "usage": _chat_usage(req, tokens),
        }
        return _json_reply(200, payload, request_id)

    options = req.body.get("stream_options") or {}
    include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
    chunk = {**base, "object": "chat.completion.chunk"}
    if include_usage:
        chunk["usage"] = None

    def event(delta: dict[str, Any], finish_reason: str | None, index: int = 0) -> bytes:
        choice = {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return _sse({**chunk, "choices": [choice]})

    events: list[bytes] = []
    pieces = [] if tool_call else _words(req.chunks)
    for i in range(n):
        events.append(event({"role": "assistant", "content": "", "refusal": None}, None, i))
    if tool_call:
        call = {**tool_call, "index": 0}
        events.append(event({"tool_calls": [call]}, None))
    for piece in pieces:
        for i in range(n):
            events.append(event({"content": piece}, None, i))
    for i in range(n):
        events.append(event({}, finish, i))
    if include_usage:
        tokens = (1 if tool_call else len(pieces)) * n
        events.append(_sse({**chunk, "choices": [], "usage": _chat_usage(req, tokens)}))
    events.append(b"data: [DONE]\n\n")
    return Reply(
        200, {"content-type": "text/event-stream", "x-request-id": request_id}, events=events
    )


# -- legacy completions -------------------------------------------------------------------------


def _completions(req: _Request, request_id: str) -> Reply:
    pieces = _words(req.chunks)
    prompt = _count_tokens(req.body.get("prompt") or "")
    usage = {
        "prompt_tokens": prompt,
        "completion_tokens": len(pieces),
        "total_tokens": prompt + len(pieces),
    }
    base = {
        "id": f"cmpl-standin-{req.id}",
        "object": "text_completion",
        "created": req.created,
        "model": req.response_model,
    }

    def choice(text: str, finish_reason: str | None) -> dict[str, Any]:
        return {"text": text, "index": 0, "logprobs": None, "finish_reason": finish_reason}

    if not req.stream:
        payload = {**base, "choices": [choice("".join(pieces), "stop")], "usage": usage}
        return _json_reply(200, payload, request_id)

    events = [_sse({**base, "choices": [choice(p, None)]}) for p in pieces]
    events.append(_sse({**base, "choices": [choice("", "stop")]}))
    options = req.body.get("stream_options") or {}
    if isinstance(options, dict) and options.get("include_usage"):
        events.append(_sse({**base, "choices": [], "usage": usage}))
    events.append(b"data: [DONE]\n\n")
    return Reply(
        200, {"content-type": "text/event-stream", "x-request-id": request_id}, events=events
    )


# -- responses ----------------------------------------------------------------------------------


def _responses(req: _Request, request_id: str) -> Reply:
    pieces = _words(req.chunks)
    text_options = req.body.get("text") or {}
    fmt = text_options.get("format") if isinstance(text_options, dict) else None
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        pieces = [json.dumps(_example(fmt.get("schema") or {}))]
    text = "".join(pieces)
    input_tokens = _count_tokens(req.body.get("input") or "") + _count_tokens(
        req.body.get("instructions") or ""
    )
    usage = {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": req.cached},
        "output_tokens": len(pieces),
        "output_tokens_details": {"reasoning_tokens": req.reasoning},
        "total_tokens": input_tokens + len(pieces),
    }
    resp_id = f"resp_standin_{req.id}"
    msg_id = f"msg_standin_{req.id}"
    max_tokens = req.body.get("max_output_tokens")
    incomplete = isinstance(max_tokens, int) and max_tokens < len(pieces)
    message = {
        "type": "message",
        "id": msg_id,
        "status": "incomplete" if incomplete else "completed",
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}],
    }
    response: dict[str, Any] = {
        "id": resp_id,
        "object": "response",
        "created_at": req.created,
        "status": "incomplete" if incomplete else "completed",
        "model": req.response_model,
        "output": [message],
        "usage": usage,
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
        "instructions": req.body.get("instructions"),
        "metadata": {},
        "parallel_tool_calls": True,
        "temperature": req.body.get("temperature", 1.0),
        "top_p": req.body.get("top_p", 1.0),
        "tool_choice": "auto",
        "tools": [],
        "text": {"format": fmt or {"type": "text"}},
        "service_tier": "default",
    }
    if not req.stream:
        return _json_reply(200, response, request_id)

    seq = itertools.count()
    pending = {
        **response,
        "status": "in_progress",
        "output": [],
        "usage": None,
        "incomplete_details": None,
    }
    events = [
        _sse({"type": kind, "sequence_number": next(seq), **data}, kind)
        for kind, data in (
            ("response.created", {"response": pending}),
            ("response.in_progress", {"response": pending}),
            (
                "response.output_item.added",
                {"output_index": 0, "item": {**message, "status": "in_progress", "content": []}},
            ),
            (
                "response.content_part.added",
                {
                    "item_id": msg_id,
                    "output_index": 0,
                    "content_index": 0,
                    "part": {"type": "output_text", "text": "", "annotations": []},
                },
            ),
        )
    ]
    for piece in pieces:
        delta = {
            "type": "response.output_text.delta",
            "sequence_number": next(seq),
            "item_id": msg_id,
            "output_index": 0,
            "content_index": 0,
            "delta": piece,
            "logprobs": [],
        }
        events.append(_sse(delta, "response.output_text.delta"))
    done = "response.incomplete" if incomplete else "response.completed"
    for kind, data in (
        (
            "response.output_text.done",
            {
                "item_id": msg_id,
                "output_index": 0,
                "content_index": 0,
                "text": text,
                "logprobs": [],
            },
        ),
        (
            "response.content_part.done",
            {
                "item_id": msg_id,
                "output_index": 0,
                "content_index": 0,
                "part": message["content"][0],
            },
        ),
        ("response.output_item.done", {"output_index": 0, "item": message}),
        (done, {"response": response}),
    ):
        events.append(_sse({"type": kind, "sequence_number": next(seq), **data}, kind))
    return Reply(
        200, {"content-type": "text/event-stream", "x-request-id": request_id}, events=events
    )


# -- embeddings ---------------------------------------------------------------------------------


def _embeddings(req: _Request, request_id: str) -> Reply:
    raw = req.body.get("input")
    inputs = raw if isinstance(raw, list) and raw and not isinstance(raw[0], int) else [raw]
    dims = req.body.get("dimensions")
    dims = dims if isinstance(dims, int) and dims > 0 else 8
    as_base64 = req.body.get("encoding_format") == "base64"
    data = []
    for index, _ in enumerate(inputs):
        vector = [round((index + 1) * 0.01 * (d + 1), 4) for d in range(dims)]
        encoded: object = (
            base64.b64encode(struct.pack(f"<{dims}f", *vector)).decode() if as_base64 else vector
        )
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    tokens = sum(_count_tokens(i) if isinstance(i, str) else len(i or []) for i in inputs)
    payload = {
        "object": "list",
        "data": data,
        "model": req.response_model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
    return _json_reply(200, payload, request_id)
