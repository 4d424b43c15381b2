"""A dead, failing or slow OTLP endpoint: the app carries on, drops are counted and said once."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import time

import pytest

import obs
from obs.testing.otlp import OTLPReceiver


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def dropped(capture) -> int:
    points = capture.metrics().get("obs.export.dropped_spans", [])
    return int(sum(p.value for p in points))


@pytest.fixture(autouse=True)
def _short_export_timeout(monkeypatch):
    # The OTLP exporter retries 429/502/503/504 and connection errors until its timeout.
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1")


@pytest.mark.parametrize("status", [500, 429, 503])
def test_failing_endpoint_then_recovery(status, caplog, obs_capture):
    caplog.set_level(logging.WARNING, logger="obs")
    with OTLPReceiver(status=status) as receiver:
        obs_capture.configure(otlp_endpoint=receiver.endpoint)
        for batch in range(3):
            with obs.span("during outage", batch=batch):
                obs.info("still logging")
            assert obs.force_flush() in (True, False)  # never raises
        failing = [r for r in caplog.records if "is failing" in r.getMessage()]
        assert len(failing) == 1, "said once per outage"
        assert dropped(obs_capture) == 6
        assert len(obs_capture.find("during outage")) == 3  # the app's own spans were all made

        receiver.status = 200
        with obs.span("after recovery"):
            pass
        obs.force_flush()
        assert "after recovery" in [s.name for s in receiver.spans()]
        recovered = [r.getMessage() for r in caplog.records if "works again" in r.getMessage()]
        assert recovered == [recovered[0]]
        assert "6 spans were dropped" in recovered[0]


def test_refused_connection(caplog, obs_capture):
    caplog.set_level(logging.WARNING, logger="obs")
    obs_capture.configure(otlp_endpoint=f"http://127.0.0.1:{closed_port()}")
    with obs.span("nobody listens"):
        pass
    obs.force_flush()
    assert obs_capture.one("nobody listens")
    assert dropped(obs_capture) == 1
    assert sum("is failing" in r.getMessage() for r in caplog.records) == 1


def test_slow_endpoint_times_out_without_touching_the_app(caplog, obs_capture):
    caplog.set_level(logging.WARNING, logger="obs")
    with OTLPReceiver(delay=2.5) as receiver:
        obs_capture.configure(otlp_endpoint=receiver.endpoint)
        started = time.perf_counter()
        for _ in range(200):
            with obs.span("request"):
                pass
        # creating spans never waits for the exporter (it runs in the batch thread)
        assert time.perf_counter() - started < 2.0
        obs.force_flush()
    assert dropped(obs_capture) >= 1


def test_repeated_sdk_warnings_are_folded(caplog, obs_capture):
    caplog.set_level(logging.WARNING)
    with OTLPReceiver(status=500) as receiver:
        obs_capture.configure(otlp_endpoint=receiver.endpoint)
        for _ in range(5):
            with obs.span("x"):
                pass
            obs.force_flush()
    sdk_lines = [r for r in caplog.records if r.name.startswith("opentelemetry.exporter")]
    assert len(sdk_lines) <= 1


def test_exit_with_a_dead_collector_is_bounded():
    script = (
        "import obs\n"
        f"obs.configure(otlp_endpoint='http://127.0.0.1:{closed_port()}', console=False)\n"
        "for _ in range(3000):\n"
        "    with obs.span('x'):\n"
        "        pass\n"
    )
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={"OBS_SHUTDOWN_TIMEOUT_S": "1", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    # interpreter start + 1 s shutdown budget (+ 0.5 s minimum for metrics), generously
    assert elapsed < 8, elapsed
    assert "is failing" in result.stderr
