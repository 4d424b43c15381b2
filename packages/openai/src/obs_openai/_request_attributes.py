"""Span attributes read from the request body the client is about to send."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from opentelemetry.util.types import AttributeValue

from obs_openai import _semconv as sc

_SCALARS = (int, float, str, bool)

# (body key, attribute) for the plain scalar parameters of each endpoint; the first body key
# present wins when several map to one attribute (max_tokens vs max_completion_tokens).
_PARAMS: dict[str, tuple[tuple[str, str], ...]] = {
    sc.CHAT: (
        ("temperature", "gen_ai.request.temperature"),
        ("top_p", "gen_ai.request.top_p"),
        ("max_completion_tokens", sc.REQUEST_MAX_TOKENS),
        ("max_tokens", sc.REQUEST_MAX_TOKENS),
        ("seed", "gen_ai.request.seed"),
        ("frequency_penalty", "gen_ai.request.frequency_penalty"),
        ("presence_penalty", "gen_ai.request.presence_penalty"),
        ("service_tier", sc.REQUEST_SERVICE_TIER),
    ),
    sc.RESPONSES: (
        ("temperature", "gen_ai.request.temperature"),
        ("top_p", "gen_ai.request.top_p"),
        ("max_output_tokens", sc.REQUEST_MAX_TOKENS),
        ("service_tier", sc.REQUEST_SERVICE_TIER),
    ),
    sc.EMBEDDINGS: (("dimensions", sc.EMBEDDINGS_DIMENSIONS),),
    sc.TEXT_COMPLETION: (
        ("temperature", "gen_ai.request.temperature"),
        ("top_p", "gen_ai.request.top_p"),
        ("max_tokens", sc.REQUEST_MAX_TOKENS),
        ("seed", "gen_ai.request.seed"),
        ("frequency_penalty", "gen_ai.request.frequency_penalty"),
        ("presence_penalty", "gen_ai.request.presence_penalty"),
    ),
}


def _output_type(fmt: object) -> str | None:
    """``gen_ai.output.type`` from a ``response_format`` / ``text.format`` parameter."""
    kind = fmt.get("type") if isinstance(fmt, Mapping) else None
    if kind in ("json_schema", "json_object"):
        return "json"
    if kind == "text":
        return "text"
    return None


def _asked_encoding(body_value: object, post_parser: object) -> str | None:
    """The embeddings format the caller named, or None when the client chose it.

    The client sends ``encoding_format="base64"`` on its own when the caller names none (and
    decodes the answer back to floats), so the body cannot tell. What the caller passed is
    still on the response parser the client attaches: a ``partial`` keyword in current
    releases, a closure variable in older ones.
    """
    value = body_value
    if isinstance(post_parser, functools.partial):
        value = post_parser.keywords.get("encoding_format", body_value)
    else:
        code = getattr(post_parser, "__code__", None)
        closure = getattr(post_parser, "__closure__", None)
        if code is not None and closure and "encoding_format" in code.co_freevars:
            try:
                value = closure[code.co_freevars.index("encoding_format")].cell_contents
            except (IndexError, ValueError):  # an empty cell
                value = body_value
    return value if isinstance(value, str) else None


def request_attributes(
    endpoint: str,
    body: Mapping[str, Any],
    attributes: dict[str, AttributeValue],
    post_parser: object = None,
) -> None:
    """Add the request parameters of ``body`` to ``attributes`` (the model is set by the caller).

    ``post_parser`` is the client's response parser for the request, when it has one.
    """
    attributes[sc.API_TYPE] = sc.API_TYPES[endpoint]
    for key, attribute in _PARAMS[endpoint]:
        value = body.get(key)
        if value is not None and type(value) in _SCALARS and attribute not in attributes:
            attributes[attribute] = value
    if endpoint == sc.CHAT or endpoint == sc.TEXT_COMPLETION:
        stop = body.get("stop")
        if isinstance(stop, str):
            attributes[sc.REQUEST_STOP] = (stop,)
        elif isinstance(stop, (list, tuple)) and stop and all(isinstance(s, str) for s in stop):
            attributes[sc.REQUEST_STOP] = tuple(stop)
        n = body.get("n")
        if type(n) is int and n != 1:
            attributes[sc.REQUEST_CHOICE_COUNT] = n
        fmt = body.get("response_format")
        if fmt is not None:
            output = _output_type(fmt)
            if output:
                attributes[sc.OUTPUT_TYPE] = output
    elif endpoint == sc.RESPONSES:
        text = body.get("text")
        if isinstance(text, Mapping):
            output = _output_type(text.get("format"))
            if output:
                attributes[sc.OUTPUT_TYPE] = output
        conversation = body.get("conversation")
        if isinstance(conversation, Mapping):
            conversation = conversation.get("id")
        if isinstance(conversation, str):
            attributes[sc.CONVERSATION_ID] = conversation
    elif endpoint == sc.EMBEDDINGS:
        encoding = _asked_encoding(body.get("encoding_format"), post_parser)
        if encoding is not None:
            attributes[sc.REQUEST_ENCODING_FORMATS] = (encoding,)
