"""``obs.baggage(tenant="acme")``: values that travel with the trace.

Entries go into OpenTelemetry baggage (so they propagate to downstream services and
messages through the configured propagators) and obs's pipeline copies them onto every span
started inside the block, under the rules of ``span_attributes`` below (incoming baggage is
a client's input: it may not forge obs's keys or displace the span's own attributes).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import baggage as baggage_api
from opentelemetry import context as context_api

from obs._attributes import to_attribute_value


@contextmanager
def baggage(**values: Any) -> Iterator[None]:
    ctx = context_api.get_current()
    for key, value in values.items():
        text = value if isinstance(value, str) else str(to_attribute_value(value))
        ctx = baggage_api.set_baggage(key, text, ctx)
    token = context_api.attach(ctx)
    try:
        yield
    finally:
        context_api.detach(token)


def get_baggage() -> dict[str, object]:
    """The baggage of the current context."""
    return dict(baggage_api.get_all())


# -- baggage as span attributes ---------------------------------------------------------------
# Baggage arrives from any client (a ``baggage`` header) and is copied onto every span of the
# request, so it is hostile input that would otherwise speak with the span's own voice. It may
# never set a key obs or the span's own conventions use, is bounded in count and size, and is
# added when the span ends, after its own attributes, only where room is left: it can never
# displace them at the attribute limit.

#: At most this many baggage entries become attributes of one span (W3C allows 180).
MAX_ENTRIES = 16
#: Longest key taken; longer ones are refused.
MAX_KEY_LENGTH = 64
#: Longest value kept; longer ones are cut.
MAX_VALUE_LENGTH = 256
#: Namespaces baggage may not write: obs's own meanings and the conventions the integrations'
#: spans own (a client must not forge ``obs.level`` or rewrite ``http.route``).
RESERVED_PREFIXES: tuple[str, ...] = (
    "obs.",
    "otel.",
    "http.",
    "url.",
    "server.",
    "client.",
    "network.",
    "user_agent.",
    "messaging.",
    "gen_ai.",
    "error.",
    "exception.",
    "code.",
    "service.",
    "telemetry.",
    "burr.",
    "fastapi.",
    "faststream.",
)
#: The attribute that counts entries refused or left out (said on the span, not dropped silently).
DROPPED_KEY = "obs.baggage.dropped"

_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-:/")
# C0 controls, DEL and C1 controls: escape sequences must not reach a terminal or a log viewer.
_CONTROLS = {c: "\ufffd" for c in (*range(0x00, 0x20), *range(0x7F, 0xA0))}


def _allowed_key(key: str) -> bool:
    if not key or len(key) > MAX_KEY_LENGTH or not _KEY_CHARS.issuperset(key):
        return False
    return not key.lower().startswith(RESERVED_PREFIXES)


def _safe_value(value: object) -> str:
    text = value if type(value) is str else str(value)
    if len(text) > MAX_VALUE_LENGTH:
        text = text[:MAX_VALUE_LENGTH]
    text = text.translate(_CONTROLS)
    if not text.isascii():
        # Lone surrogates cannot be encoded by any exporter: replace them here.
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def span_attributes(entries: Mapping[str, object]) -> tuple[dict[str, str], int]:
    """The attributes baggage may add to a span, and how many entries were left out."""
    taken: dict[str, str] = {}
    dropped = 0
    for key, value in entries.items():
        if len(taken) >= MAX_ENTRIES or not isinstance(key, str) or not _allowed_key(key):
            dropped += 1
            continue
        taken[key] = _safe_value(value)
    return taken, dropped


def merge_into(
    own: Mapping[str, Any], baggage: Mapping[str, str], dropped: int, limit: int
) -> dict[str, Any] | None:
    """``own`` plus the baggage entries that fit under ``limit``; None when none is added.

    The span's own attributes always win: a baggage key the span already has is skipped, and
    entries are added only while there is room below the attribute limit.
    """
    merged = dict(own)
    room = limit - len(merged) - 1  # keep one place for the dropped count
    for key, value in baggage.items():
        if key in merged:
            dropped += 1
        elif room > 0:
            merged[key] = value
            room -= 1
        else:
            dropped += 1
    if dropped and DROPPED_KEY not in own:
        merged[DROPPED_KEY] = dropped
    return merged if len(merged) != len(own) else None
