"""Every span obs could not deliver is counted in ``obs.export.dropped_spans``, whatever the
reason: the exporter failed, or the bounded batch queue was full while the exporter hung.

Spans made = delivered + dropped(export_failed) + dropped(queue_full), exactly.
"""

from __future__ import annotations

import pytest

import obs
from obs.testing.otlp import OTLPReceiver

MADE = 600


def dropped(capture) -> dict[str, int]:
    out: dict[str, int] = {}
    for point in capture.metrics().get("obs.export.dropped_spans", []):
        reason = str(point.attributes.get("reason"))
        out[reason] = out.get(reason, 0) + int(point.value)
    return out


@pytest.fixture
def small_queue(monkeypatch):
    # A queue of 100 spans, exported 50 at a time, each export given up after 1 s.
    monkeypatch.setenv("OTEL_BSP_MAX_QUEUE_SIZE", "100")
    monkeypatch.setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "50")
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "60000")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1")


def test_failed_exports_are_all_counted(small_queue, obs_capture):
    with OTLPReceiver(status=500) as receiver:  # fails fast: the queue never fills
        obs_capture.configure(otlp_endpoint=receiver.endpoint)
        for _ in range(90):
            with obs.span("x"):
                pass
        obs.force_flush()
    assert dropped(obs_capture) == {"export_failed": 90}


@pytest.mark.xfail(
    strict=True,
    reason=(
        "queue-full drops are undercounted: obs counts them in its QuietRepeats logging filter "
        "(packages/core/src/obs/_export_health.py) on the logger "
        "opentelemetry.sdk._shared_internal, but the SDK added its own DuplicateFilter to that "
        "logger first, which passes one 'Queue full, dropping span.' record per 20 s window; "
        "obs's filter never sees the others, so thousands of drops count as 1 or 2 (measured "
        "by benchmarks/reliability_exporter.py: 'queue full' 2 while ~4,600 spans were "
        "dropped). Fix: count in BoundedBatchSpanProcessor.on_end (queue length at its maximum "
        "before the SDK's emit), or insert obs's filter before the SDK's "
        "(logger.filters.insert(0, ...))"
    ),
)
def test_queue_full_drops_are_all_counted(small_queue, obs_capture):
    with OTLPReceiver(delay=5) as receiver:  # hangs: each export times out after 1 s
        obs_capture.configure(otlp_endpoint=receiver.endpoint)
        for _ in range(MADE):  # far more than the queue holds while the exporter hangs
            with obs.span("x"):
                pass
        obs.force_flush()
        delivered = len(receiver.spans())
    counts = dropped(obs_capture)
    assert counts.get("queue_full", 0) > 0
    assert delivered + sum(counts.values()) == MADE, counts
