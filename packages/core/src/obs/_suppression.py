"""One outgoing call, one CLIENT span: when a higher-level client already records the call.

The OpenAI client sends its requests through httpx; obs-openai's span (``chat gpt-4o-mini``,
CLIENT) is current while the request is in flight. An HTTP-level instrumentation under it
would record the same call a second time. ``http_client_spans_suppressed()`` says when an
HTTP client instrumentation should record nothing (no span, no metric, no header):

- inside ``suppress_http_client_spans()``, the explicit flag an integration may set around
  its own HTTP requests;
- when OpenTelemetry's own flags are set (``suppress_http_instrumentation``, or
  ``suppress_instrumentation`` as the SDK sets it while exporting);
- when the current span is a recording CLIENT span: a client call is already being recorded
  (obs-openai's model call, the user's own ``obs.span(..., _kind=CLIENT)``, or another HTTP
  instrumentation's span around the same request), so no integration has to be told.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import context as context_api
from opentelemetry import trace as trace_api
from opentelemetry.context import (
    _SUPPRESS_HTTP_INSTRUMENTATION_KEY,
    _SUPPRESS_INSTRUMENTATION_KEY,
    Context,
)

from obs._lean.context import SPAN_KEY, context_var

_CLIENT = trace_api.SpanKind.CLIENT


@contextmanager
def suppress_http_client_spans() -> Iterator[None]:
    """HTTP requests made inside this block get no span of their own."""
    token = context_api.attach(context_api.set_value(_SUPPRESS_HTTP_INSTRUMENTATION_KEY, True))
    try:
        yield
    finally:
        context_api.detach(token)


def client_call_context(span: trace_api.Span) -> Context:
    """The current context with ``span`` current and HTTP client spans suppressed: what an
    integration attaches around a client call it records itself (one context, not two)."""
    var = context_var()
    if var is not None:
        return Context({**var.get(), SPAN_KEY: span, _SUPPRESS_HTTP_INSTRUMENTATION_KEY: True})
    return context_api.set_value(
        _SUPPRESS_HTTP_INSTRUMENTATION_KEY, True, trace_api.set_span_in_context(span)
    )


def http_client_spans_suppressed() -> bool:
    """True when an HTTP client instrumentation should record nothing for this request."""
    if context_api.get_value(_SUPPRESS_HTTP_INSTRUMENTATION_KEY) or context_api.get_value(
        _SUPPRESS_INSTRUMENTATION_KEY
    ):
        return True
    span = trace_api.get_current_span()
    return getattr(span, "kind", None) is _CLIENT and span.is_recording()
