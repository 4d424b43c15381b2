"""Testing support: capture what obs exports, in memory, and assert on span trees.

The pytest plugin (registered through ``pytest11``) provides the ``obs_capture`` fixture::

    def test_checkout(obs_capture):
        checkout()
        assert obs_capture.tree() == ["checkout", "  charge card", "  send orders"]

The capture runs the real obs pipeline (scrubbing, baggage, propagation policy), so what a test
sees is what an exporter would see.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any, ClassVar

from opentelemetry.context import Context
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricsData
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

import obs
from obs import _registry
from obs._runtime import forget_diagnostics, runtime
from obs._span_tree import walk_sdk_spans


class CaptureProcessor(SpanProcessor):
    """Keeps finished spans in memory; survives reconfiguration (shutdown is a no-op)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.spans: list[ReadableSpan] = []

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        pass

    def on_end(self, span: ReadableSpan) -> None:
        with self._lock:
            self.spans.append(span)

    def clear(self) -> None:
        with self._lock:
            self.spans.clear()


class Capture:
    """Finished spans and metrics, with helpers to find spans and render trees."""

    DEFAULTS: ClassVar[dict[str, Any]] = {
        "service_name": "obs-tests",
        "console": False,
        "otlp": False,
        "store": False,
        "min_level": "trace",
    }

    def __init__(self) -> None:
        self._processor = CaptureProcessor()
        self._reader: InMemoryMetricReader | None = None
        self.handle: obs.Obs | None = None

    # -- set-up ---------------------------------------------------------------------------
    def configure(self, **options: Any) -> obs.Obs:
        """(Re)configure obs with the capture attached; options as for ``obs.configure``."""
        settings = {**self.DEFAULTS, **options}
        if options.get("otlp_endpoint") and "otlp" not in options:
            settings.pop("otlp")  # an endpoint given by the test switches OTLP on
        extra = list(settings.pop("span_processors", ()))
        self._reader = InMemoryMetricReader()
        readers = [self._reader, *settings.pop("metric_readers", ())]
        self.handle = obs.configure(
            span_processors=[self._processor, *extra], metric_readers=readers, **settings
        )
        return self.handle

    def close(self) -> None:
        _registry.uninstrument()
        obs.shutdown()

    # -- spans ----------------------------------------------------------------------------
    @property
    def spans(self) -> list[ReadableSpan]:
        """Finished spans, in the order they ended."""
        return list(self._processor.spans)

    def clear(self) -> None:
        self._processor.clear()

    def flush(self) -> None:
        obs.force_flush()

    def find(self, name: str | None = None, **attributes: Any) -> list[ReadableSpan]:
        """Spans with that name (any, when None) whose attributes include ``attributes``."""
        out = []
        for s in self.spans:
            if name is not None and s.name != name:
                continue
            attrs = s.attributes or {}
            if all(attrs.get(k) == v for k, v in attributes.items()):
                out.append(s)
        return out

    def one(self, name: str | None = None, **attributes: Any) -> ReadableSpan:
        """The single span matching; fails with the names that exist otherwise."""
        found = self.find(name, **attributes)
        if len(found) != 1:
            names = [s.name for s in self.spans]
            raise AssertionError(
                f"expected one span {name!r} {attributes or ''}, found {len(found)}; spans: {names}"
            )
        return found[0]

    def logs(self, level: str | None = None) -> list[ReadableSpan]:
        return [
            s
            for s in self.spans
            if (s.attributes or {}).get("obs.span_type") == "log"
            and (level is None or (s.attributes or {}).get("obs.level") == level)
        ]

    def parent(self, span: ReadableSpan) -> ReadableSpan | None:
        if span.parent is None:
            return None
        for s in self.spans:
            if s.context is not None and s.context.span_id == span.parent.span_id:
                return s
        return None

    def children(self, span: ReadableSpan) -> list[ReadableSpan]:
        sid = span.context.span_id if span.context else None
        kids = [s for s in self.spans if s.parent is not None and s.parent.span_id == sid]
        return sorted(kids, key=lambda s: s.start_time or 0)

    def roots(self) -> list[ReadableSpan]:
        """Spans whose parent was not captured (true roots, or children of remote spans)."""
        ids = {s.context.span_id for s in self.spans if s.context is not None}
        roots = [s for s in self.spans if s.parent is None or s.parent.span_id not in ids]
        return sorted(roots, key=lambda s: s.start_time or 0)

    def traces(self) -> dict[int, list[ReadableSpan]]:
        out: dict[int, list[ReadableSpan]] = {}
        for s in self.spans:
            if s.context is not None:
                out.setdefault(s.context.trace_id, []).append(s)
        return out

    def tree(self, roots: Iterable[ReadableSpan] | None = None, *, logs: bool = True) -> list[str]:
        """Span names indented two spaces per level, children in start order.

        ``logs=False`` leaves out log spans (and anything under them).
        """
        lines: list[str] = []
        hidden: int | None = None  # the depth of a log span being left out
        for node in walk_sdk_spans(self.spans, roots):
            if hidden is not None and node.depth > hidden:
                continue
            hidden = None
            span: ReadableSpan = node.item
            if not logs and (span.attributes or {}).get("obs.span_type") == "log":
                hidden = node.depth
                continue
            lines.append("  " * node.depth + span.name)
        return lines

    # -- metrics --------------------------------------------------------------------------
    def metrics_data(self) -> MetricsData | None:
        return self._reader.get_metrics_data() if self._reader is not None else None

    def metrics(self) -> dict[str, list[Any]]:
        """Metric name -> its data points, collected now."""
        data = self.metrics_data()
        out: dict[str, list[Any]] = {}
        if data is None:
            return out
        for resource_metrics in data.resource_metrics:
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    out.setdefault(metric.name, []).extend(metric.data.data_points)
        return out


def reset_diagnostics() -> None:
    """Let obs say its "said once" messages again (to assert on a first-time warning)."""
    forget_diagnostics()


def reset() -> None:
    """Back to a fresh process, as far as obs's run-time state goes.

    Every integration is uninstrumented (however it was switched on), the registry forgets
    what it loaded (an entry point is loaded again on next use), and diagnostics are forgotten.
    The providers are left to ``obs.shutdown()`` / ``obs.configure()``.
    """
    _registry.uninstrument()
    state = runtime()
    with state.lock:
        state.loaded.clear()
        state.instrumented.clear()
    forget_diagnostics()


__all__ = ["Capture", "CaptureProcessor", "reset", "reset_diagnostics"]
