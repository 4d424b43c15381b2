"""One bounded cache for everything obs remembers about values from outside.

Route templates, server addresses, scrubbing verdicts, parents of spawned applications: each
is keyed by something a client or the application controls, so each must stay bounded. A
:class:`BoundedCache` is a dict that forgets its oldest entries once it holds ``maxsize``. It
is not an LRU on purpose: a hit costs one dict lookup, nothing is reordered on the hot path.
Reads and writes are single dict operations, atomic under the GIL.
"""

from __future__ import annotations

import contextlib
from collections.abc import Hashable
from typing import Generic, TypeVar, overload

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
D = TypeVar("D")


class BoundedCache(Generic[K, V]):
    __slots__ = ("_data", "maxsize")

    def __init__(self, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError("BoundedCache: maxsize must be at least 1")
        self.maxsize = maxsize
        self._data: dict[K, V] = {}

    @overload
    def get(self, key: K) -> V | None: ...
    @overload
    def get(self, key: K, default: D) -> V | D: ...
    def get(self, key: K, default: object = None) -> object:
        return self._data.get(key, default)

    def put(self, key: K, value: V) -> None:
        data = self._data
        if key not in data and len(data) >= self.maxsize:
            # Concurrent writers may both evict: the cache shrinks a little, never grows.
            with contextlib.suppress(StopIteration, KeyError, RuntimeError):
                del data[next(iter(data))]
        data[key] = value

    def pop(self, key: K, default: V | None = None) -> V | None:
        return self._data.pop(key, default)

    def clear(self) -> None:
        self._data.clear()

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __len__(self) -> int:
        return len(self._data)


__all__ = ["BoundedCache"]
