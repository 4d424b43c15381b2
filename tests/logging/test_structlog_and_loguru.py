"""structlog (a processor) and loguru (a sink) into obs log spans, driven through the real
libraries; obs-core imports neither."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
import structlog
from loguru import logger as loguru_logger
from opentelemetry.trace import StatusCode

import obs


@pytest.fixture
def struct_log():
    out = io.StringIO()
    bound = structlog.wrap_logger(
        structlog.PrintLogger(file=out),
        processors=[
            structlog.processors.add_log_level,
            obs.StructlogProcessor(levels={"noisy": "warning"}),
            structlog.processors.JSONRenderer(),
        ],
    )
    return bound, out


def test_structlog_event_is_the_name_and_keys_are_attributes(obs_capture, struct_log):
    obs_capture.configure()
    log, out = struct_log
    with obs.span("signup"):
        log.info("user logged in", user_id=7, api_key="sk-live-abcdefghijklmnopqrstuvwx")
    record = obs_capture.one("user logged in")
    attrs = record.attributes
    assert attrs["obs.level"] == "info"
    assert attrs["obs.msg"] == "user logged in"
    assert attrs["user_id"] == 7
    assert attrs["api_key"].startswith("[scrubbed")
    assert "level" not in attrs
    assert obs_capture.parent(record).name == "signup"
    # The event dict goes on unchanged to the user's renderer.
    assert json.loads(out.getvalue()) == {
        "user_id": 7,
        "api_key": "sk-live-abcdefghijklmnopqrstuvwx",
        "event": "user logged in",
        "level": "info",
    }


def test_structlog_levels_and_exceptions(obs_capture, struct_log):
    obs_capture.configure()
    log, _ = struct_log
    log.debug("fine detail")
    log.warning("disk low", free_mb=12)
    try:
        raise KeyError("sku-1")
    except KeyError:
        log.exception("lookup failed")
    levels = {s.name: s.attributes["obs.level"] for s in obs_capture.logs()}
    assert levels == {"fine detail": "debug", "disk low": "warn", "lookup failed": "error"}
    failed = obs_capture.one("lookup failed")
    assert failed.attributes["error.type"] == "KeyError"
    assert failed.status.status_code is StatusCode.ERROR


def test_structlog_logger_levels_and_never_bridged(obs_capture, struct_log):
    obs_capture.configure()
    log, _ = struct_log
    log.bind(logger="noisy.lib").info("quiet")
    log.bind(logger="noisy.lib").error("loud")
    log.bind(logger="opentelemetry.sdk").error("never")
    assert [s.name for s in obs_capture.logs()] == ["loud"]


@pytest.fixture
def loguru_sink():
    sink_id = loguru_logger.add(obs.loguru_sink, level="TRACE")
    yield
    loguru_logger.remove(sink_id)


def test_loguru_message_extra_and_trace(obs_capture, loguru_sink):
    obs_capture.configure()
    with obs.span("import"):
        loguru_logger.bind(batch=3).info("imported {count} rows", count=120, password="pw1")
    record = obs_capture.one("imported 120 rows")
    attrs = record.attributes
    assert attrs["obs.level"] == "info"
    assert attrs["batch"] == 3
    assert attrs["count"] == 120
    assert attrs["password"] == "[scrubbed: password]"
    assert attrs["code.function.name"] == "test_loguru_message_extra_and_trace"
    assert obs_capture.parent(record).name == "import"


def test_loguru_levels_and_exception(obs_capture, loguru_sink):
    obs_capture.configure()
    loguru_logger.trace("t")
    loguru_logger.success("s")
    loguru_logger.critical("c")
    try:
        1 / 0  # noqa: B018
    except ZeroDivisionError:
        loguru_logger.exception("division")
    levels = {s.name: s.attributes["obs.level"] for s in obs_capture.logs()}
    assert levels == {"t": "trace", "s": "notice", "c": "fatal", "division": "error"}
    assert obs_capture.one("division").attributes["error.type"] == "ZeroDivisionError"


def test_obs_core_imports_neither_library():
    script = (
        "import sys, obs\n"
        "obs.configure(logging=True, console=False, store=False)\n"
        "assert 'structlog' not in sys.modules\n"
        "assert 'loguru' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
