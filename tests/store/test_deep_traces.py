"""A trace nested thousands deep (a buggy recursion, hostile stored rows): the console and
``obs trace`` draw it without RecursionError (both walk the tree with ``_span_tree.walk``)."""

from __future__ import annotations

import io

from opentelemetry import trace as trace_api
from opentelemetry.sdk.trace import TracerProvider

from obs._cli._waterfall import render_waterfall
from obs._console import ConsoleProcessor
from obs._store import StoredSpan

DEPTH = 3_000


def test_the_console_prints_a_deep_trace():
    stream = io.StringIO()
    provider = TracerProvider()
    provider.add_span_processor(ConsoleProcessor(stream, colours=False))
    tracer = provider.get_tracer("deep")
    spans = [tracer.start_span("level 0")]
    for level in range(1, DEPTH):
        parent = trace_api.set_span_in_context(spans[-1])
        spans.append(tracer.start_span(f"level {level}", context=parent))
    for span in reversed(spans):
        span.end()
    lines = stream.getvalue().splitlines()
    assert " level 0 " in lines[0]
    # The console holds up to MAX_SPANS_PER_TRACE spans of a trace, the deepest chain of them.
    assert len(lines) > 2_000
    assert "level 2999" in stream.getvalue()


def _row(index: int) -> StoredSpan:
    return StoredSpan(
        trace_id="ab" * 16,
        span_id=f"{index:016x}",
        parent_span_id=f"{index - 1:016x}" if index else None,
        name=f"level {index}",
        kind="internal",
        service_name="svc",
        start_ns=1_000_000_000 + index,
        end_ns=2_000_000_000 - index,
        status="unset",
        status_message=None,
        is_log=False,
        level=None,
        message=None,
        error_type=None,
        attributes="{}",
        events="[]",
        links="[]",
        resource="{}",
    )


def test_the_waterfall_draws_a_deep_trace():
    spans = [_row(i) for i in range(DEPTH)]
    out = render_waterfall(spans[0].trace_id, spans, colours=False, width=200)
    lines = out.splitlines()
    assert "3000 spans" in lines[0]
    assert len(lines) == DEPTH + 1  # one line per span, deepest last (names cut to a column)
    assert " level 0 " in lines[1]
    assert "└─ level 1" in lines[2]
