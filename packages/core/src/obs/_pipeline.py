"""The one span processor obs adds to a tracer provider.

Everything obs does to spans goes through this processor, in this order:

- on start: baggage entries become span attributes (so a tenant id set at the edge is on
  every span of the request);
- on end: the scrubber replaces secrets, then every inner processor (console, local store,
  OTLP, the user's extra processors) receives the scrubbed span, so no exporter sees a secret.

Its inner processors can be replaced in one assignment, which is how ``obs.configure()`` can
reconfigure a provider the user owns (SDK providers cannot remove a processor). A failure in
one processor is logged once and does not reach the code that ended the span.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from opentelemetry import baggage as baggage_api
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from obs._diagnostics import internal_error
from obs._scrubbing import Scrubber


class Pipeline(SpanProcessor):
    def __init__(self) -> None:
        self._processors: tuple[SpanProcessor, ...] = ()
        self._scrubber: Scrubber | None = None
        self._baggage_attributes = True

    @property
    def processors(self) -> tuple[SpanProcessor, ...]:
        return self._processors

    def replace(
        self,
        processors: Sequence[SpanProcessor],
        scrubber: Scrubber | None,
        baggage_attributes: bool,
    ) -> tuple[SpanProcessor, ...]:
        """Install new inner processors; returns the old ones for the caller to shut down."""
        old = self._processors
        self._scrubber = scrubber
        self._baggage_attributes = baggage_attributes
        self._processors = tuple(processors)
        return old

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        if self._baggage_attributes:
            entries = baggage_api.get_all(parent_context)
            if entries:
                try:
                    span.set_attributes({k: str(v) for k, v in entries.items()})
                except Exception as exc:
                    internal_error("baggage attributes", exc)
        for processor in self._processors:
            try:
                processor.on_start(span, parent_context)
            except Exception as exc:
                internal_error(f"{type(processor).__name__}.on_start", exc)

    def on_end(self, span: ReadableSpan) -> None:
        scrubber = self._scrubber
        if scrubber is not None:
            try:
                span = scrubber.scrub_span(span)
            except Exception as exc:
                # Dropping the span is the safe failure: exporting it unscrubbed could leak.
                internal_error("scrubbing (span dropped)", exc)
                return
        for processor in self._processors:
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
