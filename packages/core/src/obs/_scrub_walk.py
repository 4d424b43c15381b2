"""Nested values (decoded JSON, dicts and lists) scrubbed and encoded without recursion.

A client controls how deep a JSON body nests; recursion would hand it a ``RecursionError``
(and the span with it). Both the walk and the encoding keep their own stack, and the walk
has a budget of nodes, so a value's cost is bounded by its size, never by its depth.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol

#: Nodes walked in one value before the walk gives up (the caller falls back to text).
MAX_NODES = 100_000


class TooLarge(Exception):
    """The value has more nodes than ``MAX_NODES``."""


class StructureScrubber(Protocol):
    def key_label(self, key: str) -> str | None: ...
    def scrub_text(self, path: str, text: str, found: list[str]) -> str: ...
    def scrub_int(self, path: str, value: int, found: list[str]) -> Any: ...
    def decide(self, path: str, value: Any, pattern: str) -> Any: ...
    def is_marker(self, value: object) -> bool: ...


_EMPTY: tuple[Any, ...] = (None, "", (), [], {})


def scrub_structure(
    scrubber: StructureScrubber, path: str, value: Any, found: list[str], nodes: int = MAX_NODES
) -> Any:
    """A scrubbed copy of ``value`` (dicts, lists, tuples, str, numbers; others kept as is).

    Raises ``TooLarge`` past ``nodes`` nodes.
    """
    root: list[Any] = [None]
    # (value, path, the container to write into, the slot there)
    stack: list[tuple[Any, str, Any, Any]] = [(value, path, root, 0)]
    budget = nodes
    while stack:
        item, where, parent, slot = stack.pop()
        budget -= 1
        if budget < 0:
            raise TooLarge
        if isinstance(item, dict):
            out: dict[Any, Any] = {}
            children: list[tuple[Any, str, Any, Any]] = []
            for key, child in item.items():
                name = key if isinstance(key, str) else str(key)
                # A secret used as a key ("sk_live_...": 1) is scrubbed like a value, and the
                # path (listed in obs.scrubbed) is made of the scrubbed key.
                new_key: str = scrubber.scrub_text(f"{where}.<key>", name, found) if name else name
                if new_key in out:
                    new_key = _unique(new_key, out)
                sub = f"{where}.{new_key}" if where else new_key
                # a key scrubbed where the value entered obs is not read as a name again
                label = None if scrubber.is_marker(name) else scrubber.key_label(name)
                if label is not None and scrubber.is_marker(child):
                    found.append(sub)  # replaced where it entered obs: still listed
                    out[new_key] = child
                    continue
                if label is not None and not _is_empty(child):
                    # Whatever sits under a secret name goes, containers included.
                    replacement = scrubber.decide(sub, child, label)
                    if replacement is not child:
                        found.append(sub)
                    out[new_key] = replacement
                    continue
                out[new_key] = None  # keeps the key order; filled when the child is walked
                children.append((child, sub, out, new_key))
            parent[slot] = out
            stack.extend(reversed(children))
        elif isinstance(item, (list, tuple)):
            items: list[Any] = [None] * len(item)
            parent[slot] = items
            stack.extend(
                (child, f"{where}[{i}]", items, i) for i, child in reversed(list(enumerate(item)))
            )
        elif isinstance(item, str):
            parent[slot] = scrubber.scrub_text(where, item, found)
        elif type(item) is int:
            parent[slot] = scrubber.scrub_int(where, item, found)
        else:
            parent[slot] = item
    return root[0]


def _is_empty(value: Any) -> bool:
    try:
        return value in _EMPTY
    except Exception:  # a value whose __eq__ raises is not empty
        return False


def _unique(key: str, taken: dict[Any, Any]) -> str:
    n = 2
    while f"{key} ({n})" in taken:
        n += 1
    return f"{key} ({n})"


def dumps(value: Any, default: Callable[[Any], Any] = str) -> str:
    """``json.dumps(value, ensure_ascii=False)`` for any depth (same text for plain values)."""
    out: list[str] = []
    # Work items: a value to encode, or a literal piece of text (str wrapped in a tuple).
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if type(item) is _Text:
            out.append(item.text)
        elif isinstance(item, dict):
            if not item:
                out.append("{}")
                continue
            pieces: list[Any] = [_Text("{")]
            for i, (key, child) in enumerate(item.items()):
                name = key if isinstance(key, str) else _key_text(key)
                prefix = ", " if i else ""
                pieces.append(_Text(f"{prefix}{json.dumps(name, ensure_ascii=False)}: "))
                pieces.append(child)
            pieces.append(_Text("}"))
            stack.extend(reversed(pieces))
        elif isinstance(item, (list, tuple)):
            if not item:
                out.append("[]")
                continue
            pieces = [_Text("[")]
            for i, child in enumerate(item):
                if i:
                    pieces.append(_Text(", "))
                pieces.append(child)
            pieces.append(_Text("]"))
            stack.extend(reversed(pieces))
        else:
            try:
                out.append(json.dumps(item, ensure_ascii=False))
            except (TypeError, ValueError):
                out.append(json.dumps(str(default(item)), ensure_ascii=False))
    return "".join(out)


class _Text:
    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def _key_text(key: Any) -> str:
    if key is None or isinstance(key, (bool, int, float)):
        return json.dumps(key)
    return str(key)
