"""The one span processor obs adds to a tracer provider.

Everything obs does to spans goes through this processor, in this order:

- on start: what the propagation policy decided for the first span of a received request
  (a link, a flag) is applied when the context came from ``obs.extract``; the baggage of the
  span's context is read, filtered and bounded (``_baggage.span_attributes``);
- on end: that baggage becomes span attributes where room is left after the span's own
  (so a tenant id set at the edge is on every span of the request, and a client's baggage
  can never displace or forge the span's own attributes); then the span goes to the inner
  processors, and no exporter sees a secret: obs's own batch processors (local store, OTLP)
  queue it as it is and scrub it on their export thread, just before their exporter
  (``_export_health.ScrubbingSpanExporter``), which keeps the scrubber off the
  application's thread; every other processor (the console, the user's extra processors)
  receives the span scrubbed here first, since it may look at it at once.

Its inner processors can be replaced in one assignment, which is how ``obs.configure()`` can
reconfigure a provider the user owns (SDK providers cannot remove a processor). A failure in
one processor is logged once and does not reach the code that ended the span.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from opentelemetry import context as context_api
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from obs import _baggage
from obs._diagnostics import internal_error
from obs._lean.context import BAGGAGE_KEY, baggage_entries, context_var
from obs._lean.tracer import is_noop
from obs._propagation import PENDING_KEY
from obs._scrubbing import Scrubber

#: Spans started but not yet ended that carry baggage; bounded so spans never ended (a leak
#: in user code) cannot grow memory without end.
_MAX_PENDING = 65_536
#: The SDK's default attribute count limit, when a span does not say its own.
_DEFAULT_ATTRIBUTE_LIMIT = 128
#: The runtime context's variable when reading it directly is safe (else None: the API).
_CONTEXT_VAR = context_var()
#: The context key baggage lives under, when reading it directly is safe (else None).
_BAGGAGE_KEY = BAGGAGE_KEY if _CONTEXT_VAR is not None else None


class Pipeline(SpanProcessor):
    def __init__(self) -> None:
        self._processors: tuple[SpanProcessor, ...] = ()
        # Where ``on_end`` sends a span, swapped in one assignment so a span never meets one
        # configuration's processors with another's scrubber: (those that scrub on their
        # export thread and get spans as they are, the others, which get them scrubbed on the
        # calling thread, the scrubber).
        self._routes: tuple[
            tuple[SpanProcessor, ...], tuple[SpanProcessor, ...], Scrubber | None
        ] = ((), (), None)
        self._starters: tuple[SpanProcessor, ...] = ()  # those whose on_start does something
        self._baggage_attributes = True
        # span id -> (baggage attributes, entries left out), from start to end.
        self._baggage: dict[int, tuple[dict[str, str], int]] = {}

    @property
    def processors(self) -> tuple[SpanProcessor, ...]:
        return self._processors

    @property
    def queueing(self) -> tuple[SpanProcessor, ...]:
        """The processors that scrub on their export thread."""
        return self._routes[0]

    @property
    def direct(self) -> tuple[SpanProcessor, ...]:
        """The processors that receive spans scrubbed on the calling thread."""
        return self._routes[1]

    def replace(
        self,
        processors: Sequence[SpanProcessor],
        scrubber: Scrubber | None,
        baggage_attributes: bool,
    ) -> tuple[SpanProcessor, ...]:
        """Install new inner processors; returns the old ones for the caller to shut down."""
        old = self._processors
        queueing = tuple(p for p in processors if getattr(p, "scrubs_on_export", False) is True)
        for processor in queueing:
            processor.scrub_with(scrubber)  # type: ignore[attr-defined]
        direct = tuple(p for p in processors if p not in queueing)
        self._routes = (queueing, direct, scrubber)
        self._starters = tuple(p for p in processors if not is_noop(p, "on_start"))
        self._baggage_attributes = baggage_attributes
        self._processors = tuple(processors)
        return old

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        if parent_context is not None:
            ctx = parent_context
        elif _CONTEXT_VAR is not None:  # the current context read straight from its variable
            ctx = _CONTEXT_VAR.get()
        else:
            ctx = context_api.get_current()
        pending = ctx.get(PENDING_KEY)
        if pending is not None:
            self._apply_pending(span, pending)
        if self._baggage_attributes:
            # One dict look-up when there is none (the usual); ``baggage_entries`` otherwise.
            entries = ctx.get(_BAGGAGE_KEY) if _BAGGAGE_KEY is not None else baggage_entries(ctx)
            if entries:
                if not isinstance(entries, dict) and _BAGGAGE_KEY is not None:
                    entries = baggage_entries(ctx)  # not what the API stores: its answer
                try:
                    self._remember_baggage(span, entries)
                except Exception as exc:
                    internal_error("baggage attributes", exc)
        for processor in self._starters:
            try:
                processor.on_start(span, parent_context)
            except Exception as exc:
                internal_error(f"{type(processor).__name__}.on_start", exc)

    @staticmethod
    def _apply_pending(span: Span, pending: Any) -> None:
        """Links and flags from ``obs.extract``, on the first span of the received request."""
        parent = span.parent
        if parent is not None and not parent.is_remote:
            return  # a child inside the request: the decision was its root's
        try:
            links, attributes = pending
            for link in links:
                span.add_link(link.context, link.attributes)
            if attributes:
                span.set_attributes(attributes)
        except Exception as exc:
            internal_error("propagation context", exc)

    def _remember_baggage(self, span: Span, entries: Any) -> None:
        taken, dropped = _baggage.span_attributes(entries)
        if not taken and not dropped:
            return
        pending = self._baggage
        if len(pending) >= _MAX_PENDING:
            pending.clear()
        pending[span.get_span_context().span_id] = (taken, dropped)

    def _with_baggage(self, span: ReadableSpan) -> ReadableSpan:
        context = span.context
        if context is None:
            return span
        found = self._baggage.pop(context.span_id, None)
        if found is None:
            return span
        limits = getattr(span, "_limits", None)
        limit = getattr(limits, "max_span_attributes", None) or _DEFAULT_ATTRIBUTE_LIMIT
        merged = _baggage.merge_into(span.attributes or {}, found[0], found[1], limit)
        if merged is None:
            return span
        return ReadableSpan(
            name=span.name,
            context=context,
            parent=span.parent,
            resource=span.resource,
            attributes=merged,
            events=span.events,
            links=span.links,
            kind=span.kind,
            status=span.status,
            start_time=span.start_time,
            end_time=span.end_time,
            instrumentation_scope=span.instrumentation_scope,
        )

    def on_end(self, span: ReadableSpan) -> None:
        if self._baggage:
            try:
                span = self._with_baggage(span)
            except Exception as exc:
                internal_error("baggage attributes", exc)
        queueing, direct, scrubber = self._routes
        for processor in queueing:  # scrubbed on their export thread
            try:
                processor.on_end(span)
            except Exception as exc:
                internal_error(f"{type(processor).__name__}.on_end", exc)
        if not direct:
            return
        if scrubber is not None:
            try:
                span = scrubber.scrub_span(span)
            except Exception as exc:
                # Dropping the span is the safe failure: exporting it unscrubbed could leak.
                internal_error("scrubbing (span dropped)", exc)
                return
        for processor in direct:
            try:
                processor.on_end(span)
            except Exception as exc:
                internal_error(f"{type(processor).__name__}.on_end", exc)

    def shutdown(self) -> None:
        for processor in self._processors:
            try:
                processor.shutdown()
            except Exception as exc:
                internal_error(f"{type(processor).__name__}.shutdown", exc)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        # One deadline for all: the caller's timeout is the bound of the whole flush.
        deadline = time.monotonic() + timeout_millis / 1000
        ok = True
        for processor in self._processors:
            remaining = max(0, int((deadline - time.monotonic()) * 1000))
            try:
                ok = processor.force_flush(remaining) and ok
            except Exception as exc:
                internal_error(f"{type(processor).__name__}.force_flush", exc)
                ok = False
        return ok
