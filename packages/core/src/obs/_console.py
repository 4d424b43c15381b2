"""Console output a person can read: logs as they happen, each local trace as a tree.

A log prints the moment it is made, indented by the depth of the span it sits in (a progress
log inside a long ``@obs.traced`` loop shows while the loop runs, not when it ends). Spans are
held until the span at the root of the process's part of the trace ends (a local root: no
parent, or a parent from another process), then printed in start order, indented by depth,
with durations; the logs, already printed, are not repeated there. Levels and errors are coloured
when the stream is a terminal, plain otherwise. Control characters in names, messages and
error texts are neutralised (``obs._terminal``): recorded data never drives the terminal.
Memory is bounded: at most ``MAX_TRACES`` traces are held, and a trace whose root never ends
is printed when it is evicted.
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from datetime import datetime
from typing import IO

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import SpanKind, StatusCode

from obs._settings import LEVELS
from obs._span_tree import walk_sdk_spans
from obs._terminal import safe_text

MAX_TRACES = 1024
MAX_SPANS_PER_TRACE = 2000

_COLOURS = {
    "trace": "\x1b[2m",
    "debug": "\x1b[2m",
    "info": "\x1b[34m",
    "notice": "\x1b[36m",
    "warn": "\x1b[33m",
    "error": "\x1b[31m",
    "fatal": "\x1b[1;31m",
}
_RESET = "\x1b[0m"
_DIM = "\x1b[2m"
_RED = "\x1b[31m"


def _is_local_root(span: ReadableSpan) -> bool:
    return span.parent is None or span.parent.is_remote


class ConsoleProcessor(SpanProcessor):
    def __init__(
        self,
        stream: IO[str] | None = None,
        *,
        min_level: str = "info",
        colours: bool | None = None,
    ) -> None:
        self._stream = stream
        self._min_level_num = LEVELS[min_level]
        self._colours = colours
        self._lock = threading.Lock()
        self._traces: OrderedDict[int, list[ReadableSpan]] = OrderedDict()
        # span id -> depth of the spans in progress, so a log can be indented at once.
        self._depths: dict[int, int] = {}

    def _out(self) -> IO[str]:
        # Looked up at print time so redirection (and pytest's capture) is honoured.
        return self._stream if self._stream is not None else sys.stderr

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        context = span.context
        if context is None:
            return
        depths = self._depths
        if len(depths) > MAX_TRACES * 64:  # spans that never end must not grow this forever
            depths.clear()
        depths[context.span_id] = self._depth(span)

    def _depth(self, span: ReadableSpan) -> int:
        parent = span.parent
        if parent is None or parent.is_remote:
            return 0
        return self._depths.get(parent.span_id, -1) + 1

    def on_end(self, span: ReadableSpan) -> None:
        context = span.context
        if context is None:
            return
        depth = self._depths.pop(context.span_id, None)
        if (span.attributes or {}).get("obs.span_type") == "log":
            self._print_log(span, self._depth(span) if depth is None else depth)
            return
        trace_id = context.trace_id
        if _is_local_root(span):
            with self._lock:
                held = self._traces.pop(trace_id, [])
            held.append(span)
            self._print(held)
            return
        evicted: list[ReadableSpan] | None = None
        with self._lock:
            pending = self._traces.get(trace_id)
            if pending is None:
                pending = self._traces[trace_id] = []
                if len(self._traces) > MAX_TRACES:
                    evicted = self._traces.popitem(last=False)[1]
            if len(pending) < MAX_SPANS_PER_TRACE:
                pending.append(span)
        if evicted:
            self._print(evicted)

    def _print_log(self, span: ReadableSpan, depth: int) -> None:
        stream = self._out()
        colours = self._colours if self._colours is not None else _isatty(stream)
        line = self._line(span, depth, colours)
        if line is not None:
            self._write(stream, line + "\n")

    def _write(self, stream: IO[str], text: str) -> None:
        try:
            with self._lock:  # one line at a time when threads log together
                stream.write(text)
                stream.flush()
        except Exception:  # a closed stderr must not break the host
            pass

    def _print(self, spans: list[ReadableSpan]) -> None:
        lines: list[str] = []
        stream = self._out()
        colours = self._colours if self._colours is not None else _isatty(stream)
        # Iterative: a trace nested thousands deep must not exhaust the recursion limit.
        for node in walk_sdk_spans(spans):
            line = self._line(node.item, node.depth, colours)
            if line is not None:
                lines.append(line)
        if lines:
            self._write(stream, "\n".join(lines) + "\n")

    def _line(self, span: ReadableSpan, depth: int, colours: bool) -> str | None:
        attrs = span.attributes or {}
        stamp = datetime.fromtimestamp((span.start_time or 0) / 1e9).strftime("%H:%M:%S.%f")[:-3]
        indent = "  " * depth
        failed = span.status.status_code is StatusCode.ERROR
        if attrs.get("obs.span_type") == "log":
            level = str(attrs.get("obs.level", "info"))
            if LEVELS.get(level, 9) < self._min_level_num:
                return None
            text = f"{safe_text(level.upper()):<6} {safe_text(attrs.get('obs.msg', span.name))}"
            if colours:
                text = f"{_COLOURS.get(level, '')}{text}{_RESET}"
            return f"{stamp} {indent}{text}"
        duration_ms = ((span.end_time or 0) - (span.start_time or 0)) / 1e6
        text = safe_text(attrs.get("obs.msg", span.name))
        kind = "" if span.kind is SpanKind.INTERNAL else f" {span.kind.name.lower()}"
        code = attrs.get("http.response.status_code")
        status = f" {code}" if type(code) is int else ""
        detail = f"{_format_duration(duration_ms)}{kind}{status}"
        if failed:
            error = attrs.get("error.type") or span.status.description or "error"
            mark = f"✗ {safe_text(error)}"
            text = f"{text}  {_RED}{mark}{_RESET}" if colours else f"{text}  {mark}"
        if colours:
            detail = f"{_DIM}{detail}{_RESET}"
        return f"{stamp} {indent}{text}  ({detail})"

    def shutdown(self) -> None:
        with self._lock:
            pending = list(self._traces.values())
            self._traces.clear()
        for spans in pending:
            self._print(spans)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def _format_duration(ms: float) -> str:
    if ms < 1:
        return f"{ms * 1000:.0f} µs"
    if ms < 1000:
        return f"{ms:.1f} ms"
    return f"{ms / 1000:.2f} s"


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except Exception:
        return False
