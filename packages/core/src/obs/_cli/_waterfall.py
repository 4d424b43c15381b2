"""``obs trace ID``: one trace as a waterfall with offsets, bars, durations and errors.

The tree is walked by ``_span_tree.walk`` (iterative): a stored trace is data, and a deep (or
cyclic) parent chain must not exhaust Python's recursion limit.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from obs._cli._output import cell, duration
from obs._cli._session import CommandFailed, store_session
from obs._records import TYPE_CHECKING
from obs._span_tree import walk
from obs._store import StoredSpan, trace_spans
from obs._terminal import safe_text

if TYPE_CHECKING:
    from typing import Any


def run_trace(args: argparse.Namespace) -> int:
    with store_session(args, "trace") as conn:
        try:
            spans = trace_spans(conn, args.trace_id)
        except ValueError as exc:
            raise CommandFailed(f"obs trace: {exc}") from None
    if not spans:
        raise CommandFailed(f"obs trace: no trace starting with {safe_text(args.trace_id)!r}")
    print(render_waterfall(spans[0].trace_id, spans, colours=_colours(args)))
    return 0


def _colours(args: argparse.Namespace) -> bool:
    if getattr(args, "no_colour", False) or os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


def _parent(span: StoredSpan) -> str | None:
    # A row naming itself as its parent (hostile data) is a root, not a one-span cycle.
    return None if span.parent_span_id == span.span_id else span.parent_span_id


def _prefix(lasts: tuple[bool, ...]) -> str:
    """``├─``/``└─`` for the span, ``│``/blank for each ancestor below the root."""
    if len(lasts) < 2:
        return ""
    return "".join("   " if last else "│  " for last in lasts[1:-1]) + (
        "└─ " if lasts[-1] else "├─ "
    )


def _tree_order(spans: Sequence[StoredSpan]) -> list[tuple[StoredSpan, str]]:
    """Spans in tree order, each with its tree-drawing prefix."""
    ordered = [(node.item, _prefix(node.lasts)) for node in walk(spans, _span_id, _parent, _start)]
    # Spans only reachable through a cycle have no root: shown at the top level.
    seen = {s.span_id for s, _ in ordered}
    ordered.extend((s, "") for s in spans if s.span_id not in seen)
    return ordered


def _span_id(span: StoredSpan) -> str:
    return span.span_id


def _start(span: StoredSpan) -> float:
    return span.start_ns


def render_waterfall(
    trace_id: str, spans: Sequence[StoredSpan], *, colours: bool = False, width: int | None = None
) -> str:
    """The span tree of one trace, with offsets, bars and durations."""
    ordered = _tree_order(spans)
    t0 = min(s.start_ns for s in spans)
    t1 = max(s.end_ns for s in spans)
    total = max(t1 - t0, 1)
    if not width:
        import shutil  # here: `obs traces` and `obs query` do not load it (nor bz2, lzma, ...)

        width = shutil.get_terminal_size((120, 20)).columns
    bar_width = max(10, min(40, width - 80))
    red, dim, reset = ("\x1b[31m", "\x1b[2m", "\x1b[0m") if colours else ("", "", "")
    services = sorted({safe_text(s.service_name or "?") for s in spans})
    errors = sum(1 for s in spans if s.status == "error")
    header = (
        f"trace {safe_text(trace_id)}  {len(spans)} spans  {duration(total)}  "
        f"services: {', '.join(services)}"
        + (f"  {red}{errors} error{'s' if errors != 1 else ''}{reset}" if errors else "")
    )
    name_width = min(60, max(len(p) + len(_label(s)) for s, p in ordered))
    lines = [header]
    for s, prefix in ordered:
        offset = s.start_ns - t0
        name = (prefix + _label(s))[:name_width].ljust(name_width)
        start_col = min(bar_width - 1, max(0, int(offset / total * bar_width)))
        length = max(1, int((s.end_ns - s.start_ns) / total * bar_width))
        if s.is_log:
            bar = " " * start_col + "·"
        else:
            bar = " " * start_col + "█" * min(length, bar_width - start_col)
        bar = bar.ljust(bar_width)
        took = "" if s.is_log else duration(s.end_ns - s.start_ns)
        mark = ""
        if s.status == "error":
            detail = s.error_type or s.status_message or "error"
            mark = f"  {red}✗ {cell(detail, 50)}{reset}"
        lines.append(
            f"{dim}{duration(offset):>9}{reset} {name} {dim}{bar}{reset} {took:>9}  "
            f"{dim}{safe_text(s.service_name or '')}{reset}{mark}"
        )
    return "\n".join(lines)


def _label(span: StoredSpan) -> str:
    if span.is_log:
        return safe_text(f"{(span.level or 'log').upper()} {span.message or span.name}")
    name = safe_text(span.message or span.name)  # a templated span shows its rendered text
    if span.status_code is not None:
        name = f"{name} → {span.status_code}"
    return name if span.kind == "internal" else f"{name} ({safe_text(span.kind)})"


def add_parser(commands: Any) -> argparse.ArgumentParser:
    trace: argparse.ArgumentParser = commands.add_parser("trace", help="one trace as a waterfall")
    trace.add_argument("trace_id", help="the trace id, or its first digits")
    trace.add_argument("--no-colour", action="store_true")
    trace.set_defaults(run=run_trace)
    return trace
