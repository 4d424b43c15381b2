"""Metrics arrive where the user looks: per-signal OTLP endpoints, ``OTEL_*_EXPORTER=none``,
and a backend without a metrics endpoint (Phoenix answers 405) left alone after one report."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time

import pytest

import obs
from obs._otlp_endpoints import OTLPEndpoints, resolve
from obs.testing.otlp import OTLPReceiver

OTLP_VARIABLES = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    "OTEL_TRACES_EXPORTER",
    "OTEL_METRICS_EXPORTER",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in OTLP_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def receiver():
    with OTLPReceiver() as r:
        yield r


def metric_names(receiver: OTLPReceiver) -> set[str]:
    return {
        m.name
        for req in receiver.metric_requests()
        for rm in req.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
    }


def emit() -> None:
    with obs.span("work"):
        obs.counter("work.done").add(1)


def test_traces_endpoint_alone_exports_no_metrics_anywhere(receiver, obs_capture, monkeypatch):
    # Before: metrics went to localhost:4318, nobody listened, and force_flush retried there
    # until its timeout and reported failure.
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", f"{receiver.endpoint}/v1/traces")
    obs_capture.configure(otlp=None)
    emit()
    started = time.monotonic()
    assert obs.force_flush(5_000)
    assert time.monotonic() - started < 2.0
    assert [s.name for s in receiver.spans()] == ["work"]
    assert receiver.raw("/v1/metrics") == []
    assert "work.done" in obs_capture.metrics()  # still recorded, for the readers there are


def test_each_signal_goes_to_its_own_endpoint(obs_capture, monkeypatch):
    with OTLPReceiver() as traces, OTLPReceiver() as metrics:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", f"{traces.endpoint}/v1/traces")
        monkeypatch.setenv(
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", f"{metrics.endpoint}/custom/metrics"
        )
        obs_capture.configure(otlp=None)
        emit()
        assert obs.force_flush(5_000)
        assert [s.name for s in traces.spans()] == ["work"]
        assert traces.raw("/v1/metrics") == []
        assert [r.path for r in metrics.requests] == ["/custom/metrics"]
        assert metrics.raw("/v1/traces") == []


def test_metrics_endpoint_alone_keeps_spans_local(receiver, obs_capture, monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", f"{receiver.endpoint}/v1/metrics")
    obs_capture.configure(otlp=None)
    emit()
    assert obs.force_flush(5_000)
    assert receiver.raw("/v1/traces") == []
    assert "work.done" in metric_names(receiver)
    assert [s.name for s in obs_capture.spans] == ["work"]


def test_metrics_exporter_none(receiver, obs_capture, monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "none")
    obs_capture.configure(otlp=None)
    emit()
    assert obs.force_flush(5_000)
    assert [s.name for s in receiver.spans()] == ["work"]
    assert receiver.raw("/v1/metrics") == []


def test_traces_exporter_none(receiver, obs_capture, monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    handle = obs_capture.configure(otlp=None, store=None, console=None)
    emit()
    assert obs.force_flush(5_000)
    assert receiver.raw("/v1/traces") == []
    assert "work.done" in metric_names(receiver)
    assert handle.store_path is None  # "no traces exported" also means none to the local store


def test_backend_without_metrics_endpoint_is_reported_once_then_left_alone(
    receiver, obs_capture, caplog
):
    receiver.path_status["/v1/metrics"] = 405  # what Phoenix answers
    obs_capture.configure(otlp_endpoint=receiver.endpoint)
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            emit()
            obs.force_flush(5_000)
    assert len(receiver.raw("/v1/metrics")) == 1  # tried once, then not again
    assert [s.name for s in receiver.spans()] == ["work", "work", "work"]  # traces unaffected
    reports = [r for r in caplog.records if "no OTLP metrics endpoint" in r.getMessage()]
    assert len(reports) == 1
    assert "405" in reports[0].getMessage()
    # The exporter's own error line for it is folded into obs's report.
    assert not [r for r in caplog.records if "Failed to export metrics" in r.getMessage()]


def test_a_failing_metrics_endpoint_is_not_mistaken_for_a_missing_one(receiver, obs_capture):
    receiver.path_status["/v1/metrics"] = 400
    obs_capture.configure(otlp_endpoint=receiver.endpoint)
    for _ in range(2):
        emit()
        obs.force_flush(5_000)
    assert len(receiver.raw("/v1/metrics")) == 2  # still tried: it may recover


@pytest.mark.parametrize(
    ("env", "argument", "enabled", "expected"),
    [
        ({}, None, None, OTLPEndpoints()),
        ({}, None, False, OTLPEndpoints()),
        (
            {},
            None,
            True,
            OTLPEndpoints(
                "http://localhost:4318/v1/traces",
                "http://localhost:4318/v1/metrics",
                "http://localhost:4318",
            ),
        ),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318/"},
            None,
            None,
            OTLPEndpoints("http://c:4318/v1/traces", "http://c:4318/v1/metrics", "http://c:4318"),
        ),
        (
            {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://p:6006/v1/traces"},
            None,
            None,
            OTLPEndpoints("http://p:6006/v1/traces", None, None),
        ),
        (
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318",
                "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://m:9090/api/otlp",
            },
            None,
            None,
            OTLPEndpoints("http://c:4318/v1/traces", "http://m:9090/api/otlp", "http://c:4318"),
        ),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://env:4318"},
            "http://arg:4318",
            None,
            OTLPEndpoints(
                "http://arg:4318/v1/traces", "http://arg:4318/v1/metrics", "http://arg:4318"
            ),
        ),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_METRICS_EXPORTER": "none"},
            None,
            None,
            OTLPEndpoints("http://c:4318/v1/traces", None, "http://c:4318"),
        ),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": " None "},
            None,
            None,
            OTLPEndpoints(None, "http://c:4318/v1/metrics", "http://c:4318", traces_off=True),
        ),
    ],
)
def test_resolution_rules(monkeypatch, env, argument, enabled, expected):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert resolve(argument, enabled) == expected


def test_a_traces_only_process_exits_at_once_and_quietly(receiver):
    # What a user saw: with only the traces endpoint set, every process exit waited on a
    # metric export to localhost:4318 (bounded by OBS_SHUTDOWN_TIMEOUT_S, 5 s) and logged
    # connection errors.
    script = (
        "import time, obs\n"
        "obs.configure(service_name='short-lived')\n"
        "with obs.span('job'):\n"
        "    obs.counter('jobs').add(1)\n"
        "print(time.time(), flush=True)\n"
    )
    env = {
        **{k: v for k, v in os.environ.items() if k not in OTLP_VARIABLES},
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"{receiver.endpoint}/v1/traces",
    }
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    exit_took = time.time() - float(result.stdout.strip())
    assert result.returncode == 0, result.stderr
    assert exit_took < 2.5, exit_took
    assert "4318" not in result.stderr
    assert "Failed to export" not in result.stderr
    assert [s.name for s in receiver.spans()] == ["job"]
