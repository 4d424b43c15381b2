"""A canonical W3C ``traceparent`` read without the propagator stack.

An incoming request's context costs ~15 µs through the global propagator (a composite of
trace context and baggage, a getter, a regular expression, context copies). The header a
well-behaved caller sends is always the same shape: ``00-<32 hex>-<16 hex>-<2 hex>``, 55
characters, lower-case. ``parse`` reads exactly that shape and nothing else, with the same
result as ``TraceContextTextMapPropagator`` (a remote ``SpanContext``); for anything else it
returns None and the caller goes through the propagator, which keeps every rule for odd
headers (whitespace, future versions, invalid ids, length limits, warnings).

Use it only where the propagator would be the W3C one (``w3c_only()``) and when there is no
``tracestate`` or ``baggage`` header to read as well; obs's propagation policy still decides
whether an incoming context is trusted at all.
"""

from __future__ import annotations

from opentelemetry import propagate
from opentelemetry import trace as trace_api
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.context import Context
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_HEX = frozenset("0123456789abcdef")
_FLAGS = [TraceFlags(i) for i in range(256)]


def parse(header: object) -> SpanContext | None:
    """The remote span context of a canonical version-00 ``traceparent``, else None."""
    if type(header) is not str or len(header) != 55:
        return None
    if header[:3] != "00-" or header[35] != "-" or header[52] != "-":
        return None
    trace_hex, span_hex, flags_hex = header[3:35], header[36:52], header[53:]
    if not (_HEX.issuperset(trace_hex) and _HEX.issuperset(span_hex)):
        return None
    if not _HEX.issuperset(flags_hex):
        return None
    trace_id = int(trace_hex, 16)
    span_id = int(span_hex, 16)
    if not trace_id or not span_id:
        return None
    flags = _FLAGS[int(flags_hex, 16)]
    return SpanContext(trace_id, span_id, is_remote=True, trace_flags=flags)


def context_with_parent(parent: SpanContext, context: Context | None = None) -> Context:
    """``context`` (or an empty one) with ``parent`` as the remote parent, as ``extract`` makes."""
    return trace_api.set_span_in_context(NonRecordingSpan(parent), context or Context())


#: (the global propagator last looked at, whether it is the W3C one): it is set once at
#: start-up in practice, and this is asked for every request and message.
_seen: tuple[object, bool] = (None, False)


def w3c_only() -> bool:
    """Whether the global propagator is the W3C trace context one (with baggage or alone)."""
    global _seen
    textmap = propagate.get_global_textmap()
    seen = _seen
    if seen[0] is textmap:
        return seen[1]
    answer = _is_w3c(textmap)
    _seen = (textmap, answer)
    return answer


def _is_w3c(textmap: object) -> bool:
    if isinstance(textmap, TraceContextTextMapPropagator):
        return True
    if type(textmap) is not CompositePropagator:
        return False
    inner = getattr(textmap, "_propagators", None)
    if not isinstance(inner, (list, tuple)):
        return False
    kinds = [type(p) for p in inner]
    return kinds in (
        [TraceContextTextMapPropagator, W3CBaggagePropagator],
        [TraceContextTextMapPropagator],
    )


def header(span_context: SpanContext) -> str:
    """The ``traceparent`` the W3C propagator writes for a valid span context."""
    return "00-%032x-%016x-%02x" % (  # noqa: UP031 - one format call, the cheapest here
        span_context.trace_id,
        span_context.span_id,
        span_context.trace_flags,
    )
