"""What every part of ``ObsHooks`` shares: its settings, and ending a span it made current."""

from __future__ import annotations

import sys
from typing import Any

from opentelemetry import context as context_api
from opentelemetry import metrics as metrics_api
from opentelemetry import trace as trace_api
from opentelemetry.context import Context

from obs.instrumentation import (
    BoundedCache,
    IntegrationOptions,
    attach_context,
    context_var,
    context_with_span,
)
from obs.instrumentation import detach as detach_token
from obs_burr import _live

#: The runtime context's variable when setting it directly is safe (else None: the API's
#: layers). Making a span current is then one dict copy and one ``ContextVar.set``.
CONTEXT_VAR = context_var()


class HookBase:
    """The state the hook families (``_calls``, ``_steps``, ``_tracer_spans``) read."""

    _tracer: trace_api.Tracer
    _duration: metrics_api.Histogram
    #: The shared overrides: ``_options.capture()`` decides whether content is recorded.
    _options: IntegrationOptions
    _tools: frozenset[str]
    #: Per action object: its steps' span name and the attributes no step changes.
    _step_statics: BoundedCache[Any, tuple[str, dict[str, Any]]]
    _call_name: str
    _workflow_attributes: dict[str, Any]
    #: Switched off by the integration when it is uninstrumented (apps keep the object).
    enabled: bool


def current_exception() -> BaseException | None:
    # Hooks are called from ``finally`` blocks and ``__exit__``: the exception in flight, if
    # any, is what ended the call, even when Burr hands the hook ``exception=None``.
    return sys.exc_info()[1]


def attach(span: trace_api.Span) -> tuple[Context, object]:
    """Make ``span`` current: the context it is current in, and the token to detach it."""
    context = context_with_span(span)
    return context, attach_context(context)


def current_context() -> Context:
    var = CONTEXT_VAR
    return var.get() if var is not None else context_api.get_current()


def reset(token: object) -> None:
    """Restore the context a token replaced; a failure is logged as the API logs it."""
    detach_token(token)  # type: ignore[arg-type]


def detach(record: _live.StepRecord) -> None:
    """Detach the record's span if it is still what the calling code has current.

    Anything else means the hook runs in another context (a stream finalised in another task)
    or the action left a span attached: detaching then would restore a stale context.
    """
    token = record.token
    if token is not None:
        record.token = None
        if current_context() is record.context:
            reset(token)
