"""``obs.force_flush(timeout_millis)`` with a dead collector: the caller waits at most the
timeout it asked for, and learns that the spans were not delivered.

A service calls ``force_flush`` on its way out (a lifespan shutdown, a serverless handler
before it returns), so its bound is the bound of the whole stop.
"""

from __future__ import annotations

import socket
import time
import uuid

import pytest

import obs
from obs.testing.otlp import OTLPReceiver


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def dead_collector(obs_capture, monkeypatch):
    # Each export attempt gives up after 1 s (the OTLP exporter retries until then).
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1")
    obs_capture.configure(otlp_endpoint=f"http://127.0.0.1:{closed_port()}")
    return obs_capture


def test_force_flush_bound_includes_metrics(obs_capture, monkeypatch):
    # First in this module: the flushes the other tests abandon at their deadline go on in
    # background threads, which would share the measurement.
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "3")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "4")
    with OTLPReceiver(delay=10) as slow:
        obs_capture.configure(otlp_endpoint=slow.endpoint)
        name = f"reliability.flush.{uuid.uuid4().hex[:8]}"  # a metric with data to export
        obs.counter(name).add(1)
        with obs.span("queued"):
            pass
        started = time.monotonic()
        obs.force_flush(timeout_millis=500)
        elapsed = time.monotonic() - started
        assert name in obs_capture.metrics()
    # generous: 0.5 s asked; the metric exporter alone waits for its own timeout (4 s here,
    # 10 s by default) unless obs bounds it
    assert elapsed < 1.5


def test_force_flush_returns_within_its_timeout(obs_capture, monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1")
    monkeypatch.setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "700")
    with OTLPReceiver(delay=5) as slow:  # every export attempt times out after 1 s
        obs_capture.configure(otlp_endpoint=slow.endpoint)
        elapsed = flush_2000_spans()
    # generous: 0.5 s asked; the SDK's own flush (which ignores its timeout) took 3 batches
    # x 1 s at least, 34-50 s with the default exporter timeout and 2,000 queued spans
    assert elapsed < 1.5


def flush_2000_spans() -> float:
    for _ in range(2000):  # three export batches
        with obs.span("queued"):
            pass
    started = time.monotonic()
    obs.force_flush(timeout_millis=500)
    return time.monotonic() - started


def test_force_flush_says_when_it_could_not_deliver(dead_collector):
    with obs.span("undeliverable"):
        pass
    assert obs.force_flush(timeout_millis=5000) is False


def test_force_flush_says_when_it_delivered(obs_capture):
    with OTLPReceiver() as receiver:
        obs_capture.configure(otlp_endpoint=receiver.endpoint)
        with obs.span("delivered"):
            pass
        assert obs.force_flush(timeout_millis=5000) is True
        assert [s.name for s in receiver.spans()] == ["delivered"]
