"""Printing store data: tables, times and durations, every value neutralised for the terminal."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import datetime, timezone

from obs._records import TYPE_CHECKING
from obs._terminal import safe_text

if TYPE_CHECKING:
    from typing import Any


def cell(value: Any, width: int = 60) -> str:
    text = safe_text(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def print_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], out: Any = None) -> None:
    out = out or sys.stdout
    header = [cell(c) for c in columns]
    cells = [[cell(v) for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(header)]
    numeric = [
        all(isinstance(r[i], (int, float)) or r[i] is None for r in rows)
        for i in range(len(columns))
    ]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    print(line(header), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for row in cells:
        print(line(row), file=out)
    print(f"({len(rows)} row{'s' if len(rows) != 1 else ''})", file=out)


def local_time(ns: int) -> str:
    return (
        datetime.fromtimestamp(ns / 1e9, tz=timezone.utc).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    )


def duration(ns: float) -> str:
    ms = ns / 1e6
    if ms < 1:
        return f"{ms * 1000:.0f} µs"
    if ms < 1000:
        return f"{ms:.1f} ms"
    return f"{ms / 1000:.2f} s"
