"""Safe conversion of arbitrary Python values into OpenTelemetry attribute values.

OpenTelemetry accepts str, bool, int, float and homogeneous sequences of those. Users hand
obs anything: bytes, sets, dataclasses, objects whose ``__repr__`` raises. Conversion never
raises; anything that is not a primitive becomes a (truncated) JSON or repr string.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.util.types import AttributeValue

#: Longest string value obs writes; longer ones are cut and marked (documented in the README).
MAX_STRING_LENGTH = 8192
#: How deep nested containers are walked before the rest is summarised.
MAX_DEPTH = 8
#: How many items of a container are kept before the rest is summarised.
MAX_ITEMS = 256

_PRIMITIVES = (bool, str, int, float)


def truncate(text: str, limit: int = MAX_STRING_LENGTH) -> str:
    """``text`` cut to at most ``limit`` characters, the cut marked and counted."""
    if len(text) <= limit:
        return text
    keep = limit - 40  # room for the marker, so the SDK's own length limit never cuts it off
    return f"{text[:keep]}...[truncated {len(text) - keep} chars]"


def _safe_repr(value: object) -> str:
    try:
        return repr(value)
    except Exception:
        return f"<unrepresentable {type(value).__qualname__}>"


def _jsonable(value: Any, depth: int) -> Any:
    """A JSON-encodable copy of ``value``, bounded in depth and width."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if depth >= MAX_DEPTH:
        return "<max depth>"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _bytes_text(bytes(value))
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for i, (k, v) in enumerate(value.items()):
            if i >= MAX_ITEMS:
                out["..."] = f"{len(value) - MAX_ITEMS} more"
                break
            out[k if isinstance(k, str) else _safe_repr(k)] = _jsonable(v, depth + 1)
        return out
    if isinstance(value, (list, tuple, set, frozenset)):
        items = list(value) if not isinstance(value, (set, frozenset)) else _sorted(value)
        kept = [_jsonable(v, depth + 1) for v in items[:MAX_ITEMS]]
        if len(items) > MAX_ITEMS:
            kept.append(f"... {len(items) - MAX_ITEMS} more")
        return kept
    # pydantic models and dataclasses are common in the hosts obs instruments
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            return _jsonable(dump(mode="json"), depth + 1)
        except Exception:
            pass
    fields = getattr(value, "__dataclass_fields__", None)
    if isinstance(fields, dict):
        try:
            return {name: _jsonable(getattr(value, name), depth + 1) for name in fields}
        except Exception:
            pass
    return _safe_repr(value)


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


def to_attribute_value(value: object) -> AttributeValue:
    """Convert any value into an attribute value; never raises."""
    try:
        if isinstance(value, str):
            return truncate(value)
        if isinstance(value, _PRIMITIVES):
            return value
        if isinstance(value, (bytes, bytearray, memoryview)):
            return truncate(_bytes_text(bytes(value)))
        if isinstance(value, (list, tuple)) and value:
            first = type(value[0])
            if first in _PRIMITIVES and all(type(v) is first for v in value):
                if first is str:
                    return tuple(truncate(v) for v in value[:MAX_ITEMS])
                return tuple(value[:MAX_ITEMS])
        plain = _jsonable(value, 0)
        if isinstance(plain, str):  # an object's repr: keep it readable, not JSON-quoted
            return truncate(plain)
        return truncate(json.dumps(plain, ensure_ascii=False, default=_safe_repr))
    except Exception:
        return f"<unconvertible {type(value).__qualname__}>"


def to_attributes(values: Mapping[str, object]) -> dict[str, AttributeValue]:
    """Convert a mapping of attributes; ``None`` values are dropped."""
    out: dict[str, AttributeValue] = {}
    for key, value in values.items():
        if value is None:
            continue
        if type(value) in _PRIMITIVES and not isinstance(value, str):
            out[key] = value  # type: ignore[assignment]
        else:
            out[key] = to_attribute_value(value)
    return out


def is_sequence_value(value: object) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str)
