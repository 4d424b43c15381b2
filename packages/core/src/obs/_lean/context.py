"""Making a span current without the API's layers of calls.

``context.attach(trace.set_span_in_context(span))`` is five calls deep; with the default
runtime context (a ``ContextVar``) the same is one dict copy and one ``ContextVar.set``. Any
other runtime context (``OTEL_PYTHON_CONTEXT`` naming another one) goes through the API.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar, Token
from typing import Any

from opentelemetry import context as context_api
from opentelemetry import trace as trace_api
from opentelemetry.context import Context
from opentelemetry.context.contextvars_context import ContextVarsRuntimeContext

_context_logger = logging.getLogger(context_api.__name__)


def _runtime_var() -> ContextVar[Context] | None:
    runtime: Any = getattr(context_api, "_RUNTIME_CONTEXT", None)
    if type(runtime) is not ContextVarsRuntimeContext:
        return None
    var = getattr(runtime, "_current_context", None)
    return var if isinstance(var, ContextVar) else None


_VAR = _runtime_var()
#: The key the API stores the current span under (``trace.set_span_in_context`` uses it).
SPAN_KEY: str = getattr(trace_api, "_SPAN_KEY", "current-span")


def _has_fast_path() -> bool:
    if _VAR is None:
        return False
    # The key must be the one the API reads back, or spans would not be current.
    probe = trace_api.NonRecordingSpan(trace_api.INVALID_SPAN_CONTEXT)
    token = _VAR.set(Context({**_VAR.get(), SPAN_KEY: probe}))
    try:
        return trace_api.get_current_span() is probe
    finally:
        _VAR.reset(token)


FAST = _has_fast_path()


def context_var() -> ContextVar[Context] | None:
    """The runtime context's ContextVar, if reading and setting it directly is safe."""
    return _VAR if FAST else None


def attach_span(span: trace_api.Span) -> Token[Context]:
    """Make ``span`` current; returns the token for ``detach``."""
    if FAST:
        var: Any = _VAR
        return var.set(Context({**var.get(), SPAN_KEY: span}))  # type: ignore[no-any-return]
    return context_api.attach(trace_api.set_span_in_context(span))


def with_span(span: trace_api.Span, context: Context | None = None) -> Context:
    """``trace.set_span_in_context(span, context)``: a copy of ``context`` (or of the current
    one) with ``span`` as its current span."""
    if FAST:
        var: Any = _VAR
        return Context({**(var.get() if context is None else context), SPAN_KEY: span})
    return trace_api.set_span_in_context(span, context)


def attach(context: Context) -> Token[Context]:
    """``context.attach(context)``; returns the token for ``detach``."""
    if FAST:
        var: Any = _VAR
        return var.set(context)  # type: ignore[no-any-return]
    return context_api.attach(context)


def detach(token: Token[Context]) -> None:
    """Restore the context ``attach_span`` replaced (errors logged as the API does)."""
    if FAST:
        try:
            _VAR.reset(token)  # type: ignore[union-attr]
        except Exception:
            _context_logger.exception("Failed to detach context")
        return
    context_api.detach(token)


def current_span(context: Context | None = None) -> trace_api.Span:
    """``trace.get_current_span(context)``, read straight from the context."""
    if FAST:
        var: Any = _VAR
        span = (var.get() if context is None else context).get(SPAN_KEY)
        if span is None or not isinstance(span, trace_api.Span):
            return trace_api.INVALID_SPAN
        return span
    return trace_api.get_current_span(context)


def _baggage_key() -> str | None:
    from opentelemetry import baggage

    key = getattr(baggage, "_BAGGAGE_KEY", None)
    if not isinstance(key, str) or _VAR is None:
        return None
    probe = baggage.set_baggage("obs.probe", "1", Context())
    return key if probe.get(key) == {"obs.probe": "1"} else None


_BAGGAGE_KEY = _baggage_key()
#: Public to obs's pipeline, which reads the entries inline: ``ctx.get(BAGGAGE_KEY)`` is a
#: dict of entries or None when this is not None.
BAGGAGE_KEY = _BAGGAGE_KEY


def baggage_entries(context: Context | None = None) -> Any:
    """``baggage.get_all(context)`` without its layers: the entries mapping (maybe empty).

    For obs's pipeline (baggage entries become span attributes on every span start): the
    usual span has no baggage, and this answers that in one dict look-up.
    """
    if _BAGGAGE_KEY is not None and FAST:
        var: Any = _VAR
        entries = (var.get() if context is None else context).get(_BAGGAGE_KEY)
        return entries if isinstance(entries, dict) else {}
    from opentelemetry import baggage

    return baggage.get_all(context)
