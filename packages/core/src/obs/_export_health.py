"""A dead or slow exporter must cost the application nothing, and say so once.

- ``ReportingSpanExporter`` wraps obs's span exporters (OTLP and the local store): spans a
  failed export drops are counted in the ``obs.export.dropped_spans`` metric
  (``exporter=<label>, reason=export_failed``), the first failure of each outage is logged
  once with what it means (and the exporter's ``failure_reason`` when it gives one), and each
  recovery is logged with the number of spans lost meanwhile; a later outage is said again.
- ``QuietRepeats`` is a logging filter for the OpenTelemetry exporter and batch-processor
  loggers: they log every failed batch and every span dropped from a full queue, which under a
  dead endpoint floods the service's logs. The first message of a kind passes; repeats within
  ``window_s`` are suppressed and counted, and queue-full drops go into the same metric
  (``reason=queue_full``).
- ``BoundedBatchSpanProcessor`` bounds how long shutdown (at interpreter exit) waits for a
  final export, so a dead collector cannot hold a stopping process for half a minute. It is
  also where obs's own exporters get their spans scrubbed: on the export thread, just before
  the exporter sees them (``ScrubbingSpanExporter``), so the application's thread only queues
  the span; and it queues it with the SDK's own steps minus the per-span ``getpid``
  (``_FastHandOff``), falling back to the SDK's path for anything unusual.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from opentelemetry import metrics as metrics_api
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import TraceFlags

from obs._diagnostics import internal_error, logger
from obs._lean.span import LeanSpan
from obs._lean.tracer import TUPLE_CONTEXT
from obs._version import VERSION

if TYPE_CHECKING:
    from obs._scrubbing import Scrubber

#: Loggers whose repeats are folded (the OTLP exporters, their HTTP client, batch processing).
NOISY_LOGGERS = (
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.proto.http.metric_exporter",
    "opentelemetry.exporter.otlp.common.http",
    "opentelemetry.sdk._shared_internal",
    "opentelemetry.sdk.metrics._internal.export",
)
DEFAULT_SHUTDOWN_TIMEOUT_S = 5.0
_SAMPLED = int(TraceFlags.SAMPLED)


def dropped_counter() -> metrics_api.Counter:
    return metrics_api.get_meter("obs", VERSION).create_counter(
        "obs.export.dropped_spans",
        unit="{span}",
        description="Spans obs could not deliver (exporter failing, or queue full)",
    )


class ReportingSpanExporter(SpanExporter):
    def __init__(self, inner: SpanExporter, label: str) -> None:
        self.inner = inner
        self.label = label
        self.dropped = 0
        self._failing = False
        self._outage_dropped = 0
        self._counter = dropped_counter()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            result = self.inner.export(spans)
        except Exception as exc:  # an exporter bug must not kill the export thread
            logger.debug("obs: exporter %s raised %r", self.label, exc)
            result = SpanExportResult.FAILURE
        if result is SpanExportResult.SUCCESS:
            if self._failing:
                self._failing = False
                logger.warning(
                    "obs: span export to %s works again; %d spans were dropped while it failed",
                    self.label,
                    self._outage_dropped,
                )
            return result
        count = len(spans)
        self.dropped += count
        self._outage_dropped += count
        self._counter.add(count, {"exporter": self.label, "reason": "export_failed"})
        if not self._failing:
            self._failing = True
            self._outage_dropped = count
            reason = getattr(self.inner, "failure_reason", None)
            logger.warning(
                "obs: span export to %s is failing%s; spans are dropped until it recovers (the "
                "application is unaffected). Reported once per outage; the metric "
                "obs.export.dropped_spans counts what is lost.",
                self.label,
                f" ({reason})" if reason else "",
            )
        return result

    @property
    def failing(self) -> bool:
        """True from a failed export until the next successful one."""
        return self._failing

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        # Not True while the last export failed: what was flushed did not all arrive.
        return self.inner.force_flush(timeout_millis) and not self._failing


class QuietRepeats(logging.Filter):
    def __init__(self, window_s: float = 300.0) -> None:
        super().__init__("obs.quiet-repeats")
        self.window_s = window_s
        self._lock = threading.Lock()
        self._last: dict[tuple[str, object], float] = {}
        self._suppressed: dict[tuple[str, object], int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.msg)
        now = time.monotonic()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.window_s:
                self._suppressed[key] = self._suppressed.get(key, 0) + 1
                return False
            self._last[key] = now
            suppressed = self._suppressed.pop(key, 0)
            if len(self._last) > 1000:
                self._last.clear()
        if suppressed:
            record.msg = f"{record.msg} [{suppressed} similar messages suppressed by obs]"
        return True


_installed = False


def quiet_opentelemetry_repeats() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    quiet = QuietRepeats()
    for name in NOISY_LOGGERS:
        # First, before any filter of the SDK's own: obs sees every record it folds.
        logging.getLogger(name).filters.insert(0, quiet)


def shutdown_timeout_ms() -> float:
    """``OBS_SHUTDOWN_TIMEOUT_S`` in ms; a bad value is said once and the default used.

    It is read at exit and in ``flush()``: a typo there must not turn a shutdown into a crash.
    """
    # Imported here: ``_arguments`` pulls in the settings, store and scrubbing modules.
    from obs._arguments import env_number

    seconds = env_number(
        "OBS_SHUTDOWN_TIMEOUT_S", low=0, high=3600, default=DEFAULT_SHUTDOWN_TIMEOUT_S
    )
    return (DEFAULT_SHUTDOWN_TIMEOUT_S if seconds is None else seconds) * 1000


class ScrubbingSpanExporter(SpanExporter):
    """Scrubs each batch on the export thread, then hands it to the exporter it wraps.

    The pipeline gives it the scrubber (``scrub_with``); until then, and with scrubbing off,
    batches pass through unchanged. A span the scrubber fails on is dropped (exporting it
    unscrubbed could leak), counted in ``obs.export.dropped_spans`` (``reason=scrub_failed``)
    and said once.
    """

    def __init__(self, inner: SpanExporter, label: str) -> None:
        self.inner = inner
        self.label = label
        self.scrubber: Scrubber | None = None
        self.scrub_failed = 0
        self._counter = dropped_counter()

    def scrub_with(self, scrubber: Scrubber | None) -> None:
        self.scrubber = scrubber

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        scrubber = self.scrubber
        if scrubber is not None:
            spans = self._scrubbed(scrubber, spans)
            if not spans:
                return SpanExportResult.SUCCESS
        return self.inner.export(spans)

    def _scrubbed(self, scrubber: Scrubber, spans: Sequence[ReadableSpan]) -> list[ReadableSpan]:
        out: list[ReadableSpan] = []
        for span in spans:
            try:
                out.append(scrubber.scrub_span(span))
            except Exception as exc:
                self.scrub_failed += 1
                self._counter.add(1, {"exporter": self.label, "reason": "scrub_failed"})
                internal_error("scrubbing (span dropped)", exc)
        return out

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


class _FastHandOff:
    """What the SDK batch processor's queueing step needs, for ``on_end`` to queue directly.

    ``BatchProcessor.emit`` checks ``os.getpid()`` on every span to notice a fork; the same
    SDK also re-initialises the processor in the child with ``os.register_at_fork`` (which
    keeps the same queue object), so the per-span check is redundant where that hook exists.
    Everything unusual (a full queue, after shutdown, another SDK layout) goes the SDK's own
    way. ``tests/lean/test_sdk_internals.py`` pins the fields read here.
    """

    __slots__ = ("batch_size", "inner", "queue")

    inner: Any

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.queue: collections.deque[Any] = inner._queue
        self.batch_size: int = inner._max_export_batch_size

    @staticmethod
    def usable(inner: Any) -> bool:
        return (
            hasattr(os, "register_at_fork")
            and isinstance(getattr(inner, "_queue", None), collections.deque)
            and isinstance(getattr(inner, "_max_export_batch_size", None), int)
            and isinstance(getattr(inner, "_max_queue_size", None), int)
            and isinstance(getattr(inner, "_shutdown", None), bool)
            and isinstance(getattr(inner, "_worker_awaken", None), threading.Event)
        )


class BoundedBatchSpanProcessor(BatchSpanProcessor):
    """A BatchSpanProcessor that keeps its promises when the exporter does not answer.

    - ``shutdown`` waits at most ``shutdown_timeout_s`` for the final export;
    - ``force_flush(timeout_millis)`` returns within the timeout (the SDK's ignores it and
      exports every queued batch, each retried until the exporter's own timeout), and returns
      False when a batch could not be delivered;
    - a span dropped because the queue is full is counted in ``obs.export.dropped_spans``
      (``reason=queue_full``) exactly, not from the SDK's rate-limited log line;
    - its spans are scrubbed on the export thread once the pipeline calls ``scrub_with``.
    """

    #: The pipeline hands this processor unscrubbed spans and calls ``scrub_with``.
    scrubs_on_export = True

    def __init__(
        self,
        exporter: SpanExporter,
        *,
        shutdown_timeout_s: float | None = None,
        label: str = "batch",
        **kwargs: Any,
    ) -> None:
        self._scrubbing = ScrubbingSpanExporter(exporter, label)
        super().__init__(self._scrubbing, **kwargs)
        self.shutdown_timeout_s = (
            shutdown_timeout_ms() / 1000 if shutdown_timeout_s is None else shutdown_timeout_s
        )
        self._exporter_ref = exporter
        self._label = label
        self._counter = dropped_counter()
        self.queue_dropped = 0
        self._lost_at_last_flush = (0, 0)
        inner: Any = getattr(self, "_batch_processor", None)
        # The SDK keeps its queue private; without it (another SDK layout) nothing is counted.
        self._queue: Any = getattr(inner, "_queue", None)
        self._capacity: int = getattr(inner, "_max_queue_size", 0)
        self._fast = _FastHandOff(inner) if _FastHandOff.usable(inner) else None

    def scrub_with(self, scrubber: Scrubber | None) -> None:
        self._scrubbing.scrub_with(scrubber)

    def on_end(self, span: ReadableSpan) -> None:
        # A lean span's context is a plain field and a 6-tuple (``span.context`` and
        # ``trace_flags`` are properties: two calls per span otherwise).
        if type(span) is LeanSpan and TUPLE_CONTEXT:
            flags: Any = span._context[3]  # type: ignore[index]  # always set on a lean span
            if not flags & _SAMPLED:
                return
        else:
            context = span.context
            if context is None or not context.trace_flags.sampled:
                return
        fast = self._fast
        if fast is not None:  # the SDK's ``emit`` minus its per-span getpid, inline
            inner = fast.inner
            queue = fast.queue
            if not inner._shutdown and len(queue) < self._capacity:
                queue.appendleft(span)
                if len(queue) >= fast.batch_size:
                    awaken = inner._worker_awaken  # replaced after a fork: read it each time
                    if not awaken.is_set():
                        awaken.set()
                return
        queue = self._queue
        if queue is not None and len(queue) >= self._capacity:
            self.queue_dropped += 1
            self._counter.add(1, {"exporter": self._label, "reason": "queue_full"})
        super().on_end(span)

    def force_flush(self, timeout_millis: int | None = 30000) -> bool:
        """True only if every span since the previous flush was delivered.

        False when the flush timed out, a batch failed, the exporter is failing, or spans were
        dropped (a failed export, a full queue, a span the scrubber failed on) since the
        previous call.
        """
        # The SDK's flush blocks until every batch is exported, whatever the timeout.
        flushed = run_bounded(
            lambda: super(BoundedBatchSpanProcessor, self).force_flush(timeout_millis),
            None if timeout_millis is None else timeout_millis / 1000,
        )
        lost = (
            _failures(self._exporter_ref) + self._scrubbing.scrub_failed,
            self.queue_dropped,
        )
        clean = lost == self._lost_at_last_flush
        self._lost_at_last_flush = lost
        return flushed and clean and not getattr(self._exporter_ref, "failing", False)

    def shutdown(self) -> None:
        inner: Any = getattr(self, "_batch_processor", None)
        if inner is None:  # a different SDK layout: keep its own behaviour
            super().shutdown()  # type: ignore[no-untyped-call]
            return
        inner.shutdown(timeout_millis=self.shutdown_timeout_s * 1000)


def run_bounded(call: Callable[[], bool], timeout_s: float | None) -> bool:
    """``call()``'s result, or False if it has not returned within ``timeout_s``.

    It runs on a helper thread; past the deadline it goes on in the background (as an export
    thread would have), and the caller is free.
    """
    done = threading.Event()
    result: list[bool] = []

    def run() -> None:
        try:
            result.append(bool(call()))
        except Exception:
            result.append(False)
        finally:
            done.set()

    threading.Thread(target=run, name="obs-bounded-flush", daemon=True).start()
    if not done.wait(timeout_s):
        return False
    return bool(result and result[0])


def _failures(exporter: SpanExporter) -> int:
    """How many spans the exporter failed to deliver so far (0 if it does not count)."""
    value: Any = getattr(exporter, "dropped", None)
    if value is None:
        value = getattr(exporter, "failed", 0)
    return int(value)
