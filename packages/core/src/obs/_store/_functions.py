"""SQL helpers registered on every store connection, so the classic questions read well.

``p50/p90/p95/p99(x)`` and ``percentile(x, p)`` aggregate; ``attr(attributes, 'key')`` reads
one attribute; ``ago(seconds)`` is the ``start_ns`` of that long ago, so a time filter such as
``start_ns > ago(3600)`` is answered from the ``start_ns`` index.
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
from collections.abc import Callable

from obs._records import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any


class _Percentile:
    def __init__(self) -> None:
        self.values: list[float] = []
        self.p: float | None = None

    def step(self, value: float | None, p: float) -> None:
        if value is not None:
            self.values.append(float(value))
        self.p = float(p)

    def finalize(self) -> float | None:
        return percentile(self.values, self.p if self.p is not None else 50.0)


def percentile(values: list[float], p: float) -> float | None:
    """Linear interpolation between closest ranks (as numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * max(0.0, min(100.0, p)) / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _fixed(p: float) -> type:
    class Fixed(_Percentile):
        def step(self, value: float | None) -> None:  # type: ignore[override]
            super().step(value, p)

    return Fixed


def _attr(attributes: str | None, key: str) -> Any:
    if not attributes:
        return None
    try:
        value = json.loads(attributes).get(key)
    except (ValueError, AttributeError, RecursionError):  # stored rows are data, not trusted
        return None
    return json.dumps(value) if isinstance(value, (list, dict)) else value


_INT64 = 2**63 - 1


def _ago(seconds: float | None) -> int | None:
    # Clamped to SQLite's integer range: ago(1e12) would otherwise overflow, and SQLite words
    # that "string or blob too big". Not a number (or infinite): NULL, as SQL's own functions.
    if seconds is None:
        return None
    try:
        ns = time.time_ns() - int(float(seconds) * 1e9)
    except (TypeError, ValueError, OverflowError):
        return None
    return max(-_INT64 - 1, min(_INT64, ns))


def register_functions(conn: sqlite3.Connection) -> None:
    conn.create_aggregate("percentile", 2, _Percentile)  # type: ignore[arg-type]
    for p in (50, 90, 95, 99):
        conn.create_aggregate(f"p{p}", 1, _fixed(p))
    conn.create_function("attr", 2, _attr, deterministic=True)
    conn.create_function("ago", 1, _ago)
    for arity in (3, 4, 5):  # llm_cost(model, input, output[, cached_input[, reasoning]])
        conn.create_function("llm_cost", arity, _llm_cost, deterministic=True)


_sql_cost: Callable[..., float | None] | None = None


def _llm_cost(*args: Any) -> float | None:
    # The price module and its table load on the first call: every connection (each `obs
    # traces`) registers the function, few queries use it.
    global _sql_cost
    if _sql_cost is None:
        from obs._llm_cost import sql_cost

        _sql_cost = sql_cost
    return _sql_cost(*args)
