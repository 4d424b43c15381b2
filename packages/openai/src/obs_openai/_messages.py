"""Prompts and completions in the GenAI message format (recorded only when the user opts in).

``gen_ai.input.messages`` / ``gen_ai.output.messages`` are JSON arrays of
``{"role": ..., "parts": [...]}`` (output messages add ``finish_reason``);
``gen_ai.system_instructions`` an array of parts. Parts are ``text``, ``tool_call``,
``tool_call_response``, ``uri`` (images by URL), ``reasoning``, or the provider's own type name
for anything else. Values go through obs's scrubbing when the span ends, like every attribute.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from obs.instrumentation import to_attribute_value
from obs_openai import _semconv as sc

Part = dict[str, Any]
Message = dict[str, Any]


def get(obj: object, name: str) -> Any:
    """A field of a response object: a pydantic model from the client or a decoded JSON dict."""
    if type(obj) is dict:  # decoded JSON (checked by type: an ABC isinstance costs more)
        return obj.get(name)
    return getattr(obj, name, None)


_NOT_A_MODEL = object()
#: (class, name) -> whether the class has that attribute (a property, say): few of each.
_class_has: dict[tuple[type, str], bool] = {}


def optional(obj: object, name: str) -> Any:
    """``get`` for a field most answers lack (``text_tokens``, ``cache_write_tokens``).

    A missing name on the client's pydantic models goes through pydantic's ``__getattr__``,
    which raises (and formats) an ``AttributeError`` each time; here a model's fields and
    extra fields are read from where pydantic keeps them, with the class asked (once) only
    for anything else.
    """
    if type(obj) is dict:
        return obj.get(name)
    extra = getattr(obj, "__pydantic_extra__", _NOT_A_MODEL)
    if extra is _NOT_A_MODEL:
        return getattr(obj, name, None)
    values = getattr(obj, "__dict__", None)
    if values is not None and name in values:
        return values[name]
    if type(extra) is dict and name in extra:
        return extra[name]
    key = (type(obj), name)
    known = _class_has.get(key)
    if known is None:
        known = hasattr(type(obj), name)
        if len(_class_has) < 1024:
            _class_has[key] = known
    return getattr(obj, name, None) if known else None


def encode(value: object) -> str:
    """Messages as one JSON attribute, scrubbed whole before any cut (a secret straddling the
    attribute limit must not leave its prefix behind)."""
    encoded = to_attribute_value(value)
    return encoded if isinstance(encoded, str) else json.dumps(encoded, default=str)


def _arguments(raw: object) -> object:
    # Tool arguments arrive as a JSON string; decoded they read (and scrub) key by key.
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def _text(value: object) -> Part:
    return {"type": "text", "content": value}


def _content_parts(content: object) -> list[Part]:
    if content is None:
        return []
    if isinstance(content, str):
        return [_text(content)]
    parts: list[Part] = []
    if isinstance(content, Sequence):
        for item in content:
            kind = get(item, "type")
            if kind in ("text", "input_text", "output_text"):
                parts.append(_text(get(item, "text")))
            elif kind == "refusal":
                parts.append(_text(get(item, "refusal")))
            elif kind == "image_url":
                url = get(get(item, "image_url"), "url")
                parts.append({"type": "uri", "modality": "image", "uri": url})
            elif kind == "input_image":
                parts.append({"type": "uri", "modality": "image", "uri": get(item, "image_url")})
            else:
                parts.append({"type": str(kind)})
    return parts


def _tool_call(call_id: object, name: object, arguments: object) -> Part:
    return {"type": "tool_call", "id": call_id, "name": name, "arguments": _arguments(arguments)}


# -- chat completions ---------------------------------------------------------------------------


def chat_input(messages: object) -> list[Message]:
    out: list[Message] = []
    if not isinstance(messages, Sequence) or isinstance(messages, str):
        return out
    for message in messages:
        role = get(message, "role")
        content = get(message, "content")
        if role == "tool":
            parts: list[Part] = [
                {
                    "type": "tool_call_response",
                    "id": get(message, "tool_call_id"),
                    "response": content,
                }
            ]
        else:
            parts = _content_parts(content)
            for call in get(message, "tool_calls") or ():
                function = get(call, "function")
                parts.append(
                    _tool_call(get(call, "id"), get(function, "name"), get(function, "arguments"))
                )
        entry: Message = {"role": role, "parts": parts}
        name = get(message, "name")
        if name:
            entry["name"] = name
        out.append(entry)
    return out


def chat_output(choices: object) -> list[Message]:
    out: list[Message] = []
    for choice in choices or ():  # type: ignore[attr-defined]
        message = get(choice, "message")
        parts = _content_parts(get(message, "content"))
        refusal = get(message, "refusal")
        if refusal:
            parts.append(_text(refusal))
        for call in get(message, "tool_calls") or ():
            function = get(call, "function")
            parts.append(
                _tool_call(get(call, "id"), get(function, "name"), get(function, "arguments"))
            )
        out.append(
            {
                "role": get(message, "role") or "assistant",
                "parts": parts,
                "finish_reason": get(choice, "finish_reason"),
            }
        )
    return out


def completion_output(choices: object) -> list[Message]:
    return [
        {
            "role": "assistant",
            "parts": [_text(get(choice, "text"))],
            "finish_reason": get(choice, "finish_reason"),
        }
        for choice in choices or ()  # type: ignore[attr-defined]
    ]


class StreamedChoice:
    """One choice of a streamed chat/completions answer, assembled from its deltas."""

    __slots__ = ("finish_reason", "role", "text", "tool_calls")

    def __init__(self) -> None:
        self.role = "assistant"
        self.text: list[str] = []
        self.tool_calls: dict[int, list[Any]] = {}  # index -> [id, name, argument pieces]
        self.finish_reason: str | None = None

    def add_delta(self, delta: object) -> None:
        if delta is None:
            return
        role = get(delta, "role")
        if role:
            self.role = role
        content = get(delta, "content")
        if content:
            self.text.append(content)
        for call in get(delta, "tool_calls") or ():
            index = get(call, "index") or 0
            slot = self.tool_calls.setdefault(index, [None, None, []])
            if get(call, "id"):
                slot[0] = get(call, "id")
            function = get(call, "function")
            if get(function, "name"):
                slot[1] = get(function, "name")
            arguments = get(function, "arguments")
            if arguments:
                slot[2].append(arguments)

    def add_text(self, text: object) -> None:
        if isinstance(text, str) and text:
            self.text.append(text)

    def message(self) -> Message:
        parts: list[Part] = [_text("".join(self.text))] if self.text else []
        for call_id, name, pieces in self.tool_calls.values():
            parts.append(_tool_call(call_id, name, "".join(pieces)))
        return {"role": self.role, "parts": parts, "finish_reason": self.finish_reason}


# -- responses ----------------------------------------------------------------------------------


def responses_input(body: Mapping[str, Any]) -> tuple[list[Message], list[Part] | None]:
    instructions = body.get("instructions")
    system = [_text(instructions)] if isinstance(instructions, str) and instructions else None
    items = body.get("input")
    if isinstance(items, str):
        return [{"role": "user", "parts": [_text(items)]}], system
    out: list[Message] = []
    for item in items or ():
        kind = get(item, "type")
        if kind == "function_call":
            call = _tool_call(get(item, "call_id"), get(item, "name"), get(item, "arguments"))
            out.append({"role": "assistant", "parts": [call]})
        elif kind == "function_call_output":
            response = {
                "type": "tool_call_response",
                "id": get(item, "call_id"),
                "response": get(item, "output"),
            }
            out.append({"role": "tool", "parts": [response]})
        elif kind in (None, "message"):
            out.append({"role": get(item, "role"), "parts": _content_parts(get(item, "content"))})
        else:
            out.append({"role": "user", "parts": [{"type": str(kind)}]})
    return out, system


def responses_output(response: object, finish_reason: str | None) -> list[Message]:
    parts: list[Part] = []
    for item in get(response, "output") or ():
        kind = get(item, "type")
        if kind == "message":
            parts.extend(_content_parts(get(item, "content")))
        elif kind == "function_call":
            parts.append(
                _tool_call(get(item, "call_id"), get(item, "name"), get(item, "arguments"))
            )
        elif kind == "reasoning":
            summary = " ".join(str(get(s, "text") or "") for s in get(item, "summary") or ())
            parts.append({"type": "reasoning", "content": summary})
        else:
            parts.append({"type": str(kind)})
    return [{"role": "assistant", "parts": parts, "finish_reason": finish_reason}]


def tool_definitions(tools: object) -> list[dict[str, Any]]:
    """``gen_ai.tool.definitions``: the tools a request offers the model, in one flat shape.

    Chat completions nest a function under ``function``; the Responses API does not, and also
    offers built-in tools (``web_search``, ``file_search``, ...) known only by their type.
    """
    out: list[dict[str, Any]] = []
    if not isinstance(tools, Sequence) or isinstance(tools, str):
        return out
    for tool in tools:
        kind = get(tool, "type")
        function = get(tool, "function") if kind == "function" else None
        source = function if function is not None else tool
        entry: dict[str, Any] = {"type": kind}
        for field in ("name", "description", "parameters"):
            value = get(source, field)
            if value is not None:
                entry[field] = value
        out.append(entry)
    return out


def input_attributes(endpoint: str, body: Mapping[str, Any]) -> dict[str, str]:
    """The opt-in prompt attributes of one request."""
    if endpoint == sc.CHAT:
        out = {sc.INPUT_MESSAGES: encode(chat_input(body.get("messages")))}
        tools = tool_definitions(body.get("tools"))
        if tools:
            out[sc.TOOL_DEFINITIONS] = encode(tools)
        return out
    if endpoint == sc.RESPONSES:
        messages, system = responses_input(body)
        out = {sc.INPUT_MESSAGES: encode(messages)}
        if system:
            out[sc.SYSTEM_INSTRUCTIONS] = encode(system)
        tools = tool_definitions(body.get("tools"))
        if tools:
            out[sc.TOOL_DEFINITIONS] = encode(tools)
        return out
    if endpoint == sc.TEXT_COMPLETION:
        prompt = body.get("prompt")
        prompts = [prompt] if isinstance(prompt, str) else list(prompt or ())
        return {sc.INPUT_MESSAGES: encode([{"role": "user", "parts": [_text(p)]} for p in prompts])}
    return {}
