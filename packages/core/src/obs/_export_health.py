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
  final export, so a dead collector cannot hold a stopping process for half a minute.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry import metrics as metrics_api
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from obs._diagnostics import logger
from obs._version import VERSION

#: Loggers whose repeats are folded (the OTLP exporters, their HTTP client, batch processing).
NOISY_LOGGERS = (
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.proto.http.metric_exporter",
    "opentelemetry.exporter.otlp.common.http",
    "opentelemetry.sdk._shared_internal",
    "opentelemetry.sdk.metrics._internal.export",
)
DEFAULT_SHUTDOWN_TIMEOUT_S = 5.0


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


class BoundedBatchSpanProcessor(BatchSpanProcessor):
    """A BatchSpanProcessor that keeps its promises when the exporter does not answer.

    - ``shutdown`` waits at most ``shutdown_timeout_s`` for the final export;
    - ``force_flush(timeout_millis)`` returns within the timeout (the SDK's ignores it and
      exports every queued batch, each retried until the exporter's own timeout), and returns
      False when a batch could not be delivered;
    - a span dropped because the queue is full is counted in ``obs.export.dropped_spans``
      (``reason=queue_full``) exactly, not from the SDK's rate-limited log line.
    """

    def __init__(
        self,
        exporter: SpanExporter,
        *,
        shutdown_timeout_s: float | None = None,
        label: str = "batch",
        **kwargs: Any,
    ) -> None:
        super().__init__(exporter, **kwargs)
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

    def on_end(self, span: ReadableSpan) -> None:
        queue = self._queue
        if (
            queue is not None
            and len(queue) >= self._capacity
            and span.context is not None
            and span.context.trace_flags.sampled
        ):
            self.queue_dropped += 1
            self._counter.add(1, {"exporter": self._label, "reason": "queue_full"})
        super().on_end(span)

    def force_flush(self, timeout_millis: int | None = 30000) -> bool:
        """True only if every span since the previous flush was delivered.

        False when the flush timed out, a batch failed, the exporter is failing, or spans were
        dropped (a failed export or a full queue) since the previous call.
        """
        # The SDK's flush blocks until every batch is exported, whatever the timeout.
        flushed = run_bounded(
            lambda: super(BoundedBatchSpanProcessor, self).force_flush(timeout_millis),
            None if timeout_millis is None else timeout_millis / 1000,
        )
        lost = (_failures(self._exporter_ref), self.queue_dropped)
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
