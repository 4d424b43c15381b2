"""Safe conversion of arbitrary Python values into OpenTelemetry attribute values.

OpenTelemetry accepts str, bool, int, float and homogeneous sequences of those. Users hand
obs anything: bytes, sets, dataclasses, objects whose ``__repr__`` raises, strings with lone
surrogates. Conversion never raises, and what it returns every exporter can encode:

- text is made valid Unicode once, here (lone surrogates and undecodable bytes become
  U+FFFD), so no OTLP encoder or store write fails on it later;
- structured values are walked without recursion, bounded in depth, width and node count;
- a value that must be cut is scrubbed FIRST, as a whole (a structure key by key), and cut
  after: cutting first would break the JSON the scrubber decodes, or halve a secret so that
  its shape no longer matches.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.util.types import AttributeValue

#: Longest string value obs writes; longer ones are cut and marked (documented in the README).
MAX_STRING_LENGTH = 8192
#: How deep nested containers are walked before the rest is summarised.
MAX_DEPTH = 8
#: How many items of a container are kept before the rest is summarised.
MAX_ITEMS = 256
#: How many values one conversion walks in all (a list of 256 lists of 256 ... stops here).
MAX_NODES = 10_000

_PRIMITIVES = (bool, str, int, float)
_SURROGATES = re.compile("[\ud800-\udfff]")


def has_lone_surrogates(text: str) -> bool:
    """Only non-ASCII text can hold one; ``str.isascii`` is O(1), so check that first."""
    return not text.isascii() and _SURROGATES.search(text) is not None


def safe_text(text: str) -> str:
    """``text`` as an exact ``str`` that encodes as UTF-8: lone surrogates become U+FFFD."""
    if type(text) is not str:
        text = str.__str__(text)
    if has_lone_surrogates(text):
        return _SURROGATES.sub("\ufffd", text)
    return text


def truncate(text: str, limit: int = MAX_STRING_LENGTH) -> str:
    """``text`` cut to at most ``limit`` characters, the cut marked and counted."""
    if len(text) <= limit:
        return text
    keep = limit - 40  # room for the marker, so the SDK's own length limit never cuts it off
    return f"{text[:keep]}...[truncated {len(text) - keep} chars]"


def _safe_repr(value: object) -> str:
    try:
        return safe_text(repr(value))
    except Exception:
        return f"<unrepresentable {type(value).__qualname__}>"


def _leaf(value: Any) -> tuple[bool, Any]:
    """(True, JSON-able leaf) or (False, the container or object to look into)."""
    if value is None or type(value) in (bool, int):
        return True, value
    if isinstance(value, str):
        return True, safe_text(value)
    if isinstance(value, float):
        return True, value if math.isfinite(value) else str(value)
    if isinstance(value, (bool, int)):  # int subclasses (enums): their plain value
        return True, int(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return True, _bytes_text(bytes(value))
    return False, value


def _expand(value: Any) -> Any:
    """What an object stands for in JSON: a mapping or a sequence, else its repr (a str)."""
    if isinstance(value, (Mapping, list, tuple)):
        return value
    if isinstance(value, (set, frozenset)):
        return _sorted(value)
    # pydantic models and dataclasses are common in the hosts obs instruments
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            return dump(mode="json")
        except Exception:
            pass
    fields = getattr(value, "__dataclass_fields__", None)
    if isinstance(fields, dict):
        try:
            return {name: getattr(value, name) for name in fields}
        except Exception:
            pass
    return _safe_repr(value)


def _jsonable(value: Any, depth: int = 0) -> Any:
    """A JSON-encodable copy of ``value``, bounded in depth, width and nodes; no recursion."""
    root: list[Any] = [None]
    stack: list[tuple[Any, int, Any, Any]] = [(value, depth, root, 0)]
    budget = MAX_NODES
    while stack:
        item, level, parent, slot = stack.pop()
        budget -= 1
        is_leaf, plain = _leaf(item)
        if is_leaf:
            parent[slot] = plain
            continue
        if budget < 0:
            parent[slot] = "<too many values>"
            continue
        if level >= MAX_DEPTH:
            parent[slot] = "<max depth>"
            continue
        try:
            expanded = _expand(item)
        except Exception:
            expanded = _safe_repr(item)
        if isinstance(expanded, str):
            parent[slot] = expanded
        elif isinstance(expanded, Mapping):
            out: dict[str, Any] = {}
            parent[slot] = out
            children = []
            for i, (k, v) in enumerate(expanded.items()):
                if i >= MAX_ITEMS:
                    out["..."] = f"{len(expanded) - MAX_ITEMS} more"
                    break
                name = safe_text(k) if isinstance(k, str) else _safe_repr(k)
                out[name] = None
                children.append((v, level + 1, out, name))
            stack.extend(reversed(children))
        else:
            items = list(expanded[:MAX_ITEMS])
            kept: list[Any] = [None] * len(items)
            if len(expanded) > MAX_ITEMS:
                kept.append(f"... {len(expanded) - MAX_ITEMS} more")
            parent[slot] = kept
            stack.extend((v, level + 1, kept, i) for i, v in reversed(list(enumerate(items))))
    return root[0]


def _sorted(values: set[Any] | frozenset[Any]) -> list[Any]:
    try:
        return sorted(values)
    except Exception:
        return list(values)


def _bytes_text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return "0x" + data[: MAX_STRING_LENGTH // 2].hex()


def _scrubbed(value: Any, found: list[str] | None, path: str) -> Any:
    """``value`` (a str or a JSON-able structure) scrubbed by the configured scrubber."""
    from obs._settings import current  # late: the settings module imports the scrubber

    scrubber = current().scrubber
    if scrubber is None:
        return value
    sink: list[str] = [] if found is None else found
    if isinstance(value, str):
        return scrubber.scrub_text(path, value, sink)
    return scrubber.scrub_value(path, value, sink)


def _cut_text(text: str, found: list[str] | None, path: str) -> str:
    text = safe_text(text)
    if len(text) <= MAX_STRING_LENGTH:
        return text  # scrubbed whole when the span ends
    return truncate(_scrubbed(text, found, path))


def to_attribute_value(
    value: object, found: list[str] | None = None, path: str = ""
) -> AttributeValue:
    """Convert any value into an attribute value; never raises.

    Values that are cut (longer than ``MAX_STRING_LENGTH``) or structured are scrubbed here,
    whole, before they are cut; what was scrubbed is appended to ``found`` (as ``path...``).
    """
    try:
        if isinstance(value, str):
            return _cut_text(value, found, path)
        if type(value) in _PRIMITIVES:
            return value  # type: ignore[return-value]
        if isinstance(value, float):
            return float(value)
        if isinstance(value, (bool, int)):  # enums and other int subclasses
            return int(value)
        if isinstance(value, (bytes, bytearray, memoryview)):
            return _cut_text(_bytes_text(bytes(value)), found, path)
        if isinstance(value, (list, tuple)) and value:
            first = type(value[0])
            if first in _PRIMITIVES and all(type(v) is first for v in value):
                if first is str:
                    return tuple(_cut_text(v, found, path) for v in value[:MAX_ITEMS])
                return tuple(value[:MAX_ITEMS])
        plain = _jsonable(value, 0)
        if isinstance(plain, str):  # an object's repr: keep it readable, not JSON-quoted
            return _cut_text(plain, found, path)
        from obs._scrub_walk import dumps

        return truncate(dumps(_scrubbed(plain, found, path), default=_safe_repr))
    except Exception:
        return f"<unconvertible {type(value).__qualname__}>"


def to_attributes(values: Mapping[str, object]) -> dict[str, AttributeValue]:
    """Convert a mapping of attributes; ``None`` values are dropped.

    What conversion scrubbed (long and structured values) is listed in ``obs.scrubbed``.
    """
    out: dict[str, AttributeValue] = {}
    found: list[str] = []
    items: Mapping[str, Any] = values  # narrowed by ``type(value) is`` below
    for key, value in items.items():
        # The fast path, no call per value: exact primitives as they are, and an exact str
        # that ``to_attribute_value`` would return unchanged (ASCII holds no lone surrogate,
        # and one within the limit is not cut). Everything else takes the full path.
        kind = type(value)
        if kind is str:
            if len(value) <= MAX_STRING_LENGTH and value.isascii():
                out[key] = value
                continue
        elif kind is int or kind is float or kind is bool:
            out[key] = value
            continue
        elif value is None:
            continue
        out[key] = to_attribute_value(value, found, key)
    if found:
        out["obs.scrubbed"] = tuple(dict.fromkeys(found))
    return out


def is_sequence_value(value: object) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str)
