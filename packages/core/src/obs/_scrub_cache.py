"""One bounded cache for the scrubber's verdicts (key labels, clean strings).

Keys and short values repeat (routes, attribute names, log templates), so remembering a
verdict keeps the clean hot path to a dictionary look-up. Values come from outside, so the
cache must not grow without bound: when full it is emptied and refilled, which is cheap, keeps
the hot entries (they come straight back) and needs no bookkeeping per hit.
"""

from __future__ import annotations

from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class BoundedCache(Generic[K, V]):
    """A plain ``dict`` (``data``: read it directly, look-ups stay C-fast; a ``dict`` subclass
    measured 2-3x slower per look-up) whose ``remember`` keeps it under ``limit`` entries."""

    __slots__ = ("data", "limit")

    def __init__(self, limit: int) -> None:
        self.data: dict[K, V] = {}
        self.limit = limit

    def remember(self, key: K, value: V) -> None:
        if len(self.data) >= self.limit:
            self.data.clear()  # the same dict: holders of ``data`` keep seeing it
        self.data[key] = value
