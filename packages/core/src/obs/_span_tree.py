"""One way to walk spans as a tree: the console, ``obs trace`` and ``obs.testing`` all need it.

Spans arrive as flat records (SDK spans, store rows); a span whose parent is not among them is
a root. Children come in start order. The walk is iterative: a trace may nest thousands of
spans deep (hostile or buggy input), which must not overflow the interpreter's stack.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator

from obs._records import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any, NamedTuple, TypeVar

    from opentelemetry.sdk.trace import ReadableSpan

    T = TypeVar("T")  # annotations only (they are strings at run time)
else:
    from obs._records import NamedTuple


class Node(NamedTuple):
    item: Any
    depth: int
    #: For each level from the root down to this node: is that node its parent's last child?
    #: (What a waterfall needs to draw ``├─`` / ``└─`` / ``│``.)
    lasts: tuple[bool, ...]


def walk(
    items: Iterable[T],
    key: Callable[[T], Hashable],
    parent: Callable[[T], Hashable | None],
    start: Callable[[T], float],
    roots: Iterable[T] | None = None,
) -> Iterator[Node]:
    """Depth-first, roots and children in ``start`` order; each ``Node.item`` is a ``T``.

    ``roots``: walk only below these, in the order given (default: every span whose parent
    is not among ``items``).
    """
    spans = list(items)
    ids = {key(s) for s in spans}
    children: dict[Hashable | None, list[T]] = {}
    for s in spans:
        up = parent(s)
        children.setdefault(up if up in ids else None, []).append(s)
    for kids in children.values():
        kids.sort(key=start)
    stack: list[tuple[T, tuple[bool, ...]]] = []

    def push(kids: list[T], lasts: tuple[bool, ...]) -> None:
        # Reversed onto the stack, so the earliest child is walked first.
        for i in range(len(kids) - 1, -1, -1):
            stack.append((kids[i], (*lasts, i == len(kids) - 1)))

    push(children.get(None, []) if roots is None else list(roots), ())
    seen: set[Hashable] = set()
    while stack:
        span, lasts = stack.pop()
        ident = key(span)
        if ident in seen:  # a cycle in hostile input: each span once
            continue
        seen.add(ident)
        yield Node(span, len(lasts) - 1, lasts)
        push(children.get(ident, []), lasts)


def _sdk_id(span: ReadableSpan) -> int:
    return span.context.span_id if span.context is not None else id(span)


def _sdk_parent(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


def _sdk_start(span: ReadableSpan) -> float:
    return span.start_time or 0


def walk_sdk_spans(
    spans: Iterable[ReadableSpan], roots: Iterable[ReadableSpan] | None = None
) -> Iterator[Node]:
    """:func:`walk` over SDK spans (the console's batch, ``obs.testing``'s capture)."""
    return walk(spans, _sdk_id, _sdk_parent, _sdk_start, roots)


__all__ = ["Node", "walk", "walk_sdk_spans"]
