"""Standard ``logging`` records as obs log spans: ``configure(logging=True)`` / ``OBS_LOGGING``."""

from __future__ import annotations

import logging
import logging.config
import subprocess
import sys
import textwrap

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.trace import StatusCode

import obs
import obs_fastapi
from obs.testing.otlp import OTLPReceiver
from tests.fastapi.conftest import Server

log = logging.getLogger("shop.orders")


@pytest.fixture(autouse=True)
def root_at_every_level():
    # pytest's own capture handlers sit on the root logger, so obs does not lower its level
    # (a level beside someone's handlers is theirs); the test sets it as an app would.
    root = logging.getLogger()
    before = root.level
    root.setLevel(1)
    yield
    root.setLevel(before)


def test_record_becomes_a_log_span_in_the_current_trace(obs_capture):
    obs_capture.configure(logging=True)
    with obs.span("checkout"):
        log.info("order %s paid", 7, extra={"amount": 42, "password": "hunter2"})
    record = obs_capture.one("order %s paid")
    attrs = record.attributes
    assert attrs["obs.span_type"] == "log"
    assert attrs["obs.level"] == "info"
    assert attrs["obs.level_num"] == 9
    assert attrs["obs.msg"] == "order 7 paid"
    assert attrs["obs.msg_template"] == "order %s paid"
    assert attrs["amount"] == 42
    assert attrs["password"] == "[scrubbed: password]"  # extra fields go through scrubbing
    assert attrs["logger.name"] == "shop.orders"
    assert attrs["code.function.name"] == "test_record_becomes_a_log_span_in_the_current_trace"
    assert attrs["code.line.number"] > 0
    assert obs_capture.parent(record).name == "checkout"


def test_template_keeps_names_low_cardinality(obs_capture):
    obs_capture.configure(logging=True)
    for order in range(3):
        log.info("order %s paid", order)
    log.info("no arguments: %s stays as written")
    assert {s.name for s in obs_capture.logs()} == {
        "order %s paid",
        "no arguments: %s stays as written",
    }
    assert sorted(s.attributes["obs.msg"] for s in obs_capture.find("order %s paid")) == [
        "order 0 paid",
        "order 1 paid",
        "order 2 paid",
    ]


def test_handler_by_hand_and_bad_arguments_never_raise(obs_capture):
    obs_capture.configure()
    own = logging.getLogger("by.hand")
    own.propagate = False  # away from pytest's capture handler, which re-raises
    handler = obs.LogHandler()
    own.addHandler(handler)
    try:
        own.warning("two %s %s", "only-one")
    finally:
        own.removeHandler(handler)
        own.propagate = True
    [record] = obs_capture.logs()
    assert record.attributes["obs.msg"] == "two %s %s"


@pytest.mark.parametrize(
    ("number", "level", "obs_number"),
    [
        (5, "trace", 1),
        (logging.DEBUG, "debug", 5),
        (logging.INFO, "info", 9),
        (25, "notice", 10),
        (logging.WARNING, "warn", 13),
        (logging.ERROR, "error", 17),
        (logging.CRITICAL, "fatal", 21),
    ],
)
def test_level_mapping(obs_capture, number, level, obs_number):
    obs_capture.configure(logging="trace")
    log.log(number, "at %d", number)
    [record] = obs_capture.logs()
    assert record.attributes["obs.level"] == level
    assert record.attributes["obs.level_num"] == obs_number
    assert (record.status.status_code is StatusCode.ERROR) is (number >= logging.ERROR)


def test_exc_info_is_recorded_as_an_exception(obs_capture):
    obs_capture.configure(logging=True)
    try:
        raise ValueError("card declined")
    except ValueError:
        log.exception("payment failed")
    [record] = obs_capture.logs()
    assert record.attributes["error.type"] == "ValueError"
    assert record.status.status_code is StatusCode.ERROR
    [event] = record.events
    assert event.name == "exception"
    assert event.attributes["exception.message"] == "card declined"


def test_levels_per_logger(obs_capture):
    obs_capture.configure(
        logging="debug",
        logging_levels={"noisy": "warning", "noisy.keep": 10, "noisy.banner": "CRITICAL"},
    )
    logging.getLogger("noisy.banner").error("dropped: below critical")
    logging.getLogger("noisy").info("dropped")
    logging.getLogger("noisy.sub").info("dropped too")
    logging.getLogger("noisy.sub").warning("kept: warning")
    logging.getLogger("noisy.keep").debug("kept: own level")
    logging.getLogger("noisyneighbour").debug("kept: another logger")
    logging.getLogger("httpx").info("HTTP Request: GET http://x 200")  # a default: obs-httpx has it
    assert sorted(s.name for s in obs_capture.logs()) == [
        "kept: another logger",
        "kept: own level",
        "kept: warning",
    ]


def test_handler_level(obs_capture):
    obs_capture.configure(logging="warning")
    log.info("below")
    log.warning("above")
    assert [s.name for s in obs_capture.logs()] == ["above"]


def test_obs_and_opentelemetry_loggers_are_never_bridged(obs_capture):
    obs_capture.configure(logging="trace")
    logging.getLogger("obs").warning("obs: something about exporting")
    logging.getLogger("opentelemetry.sdk.trace").warning("Already shutdown")
    logging.getLogger("obsidian").warning("a user's logger that only looks alike")
    assert [s.name for s in obs_capture.logs()] == ["a user's logger that only looks alike"]


def test_export_threads_records_do_not_feed_back(obs_capture):
    # urllib3 logs each connection at DEBUG on the OTLP export thread: bridged, every export
    # would make a log span to export, forever.
    logging.getLogger("urllib3").setLevel(logging.DEBUG)
    try:
        with OTLPReceiver() as receiver:
            obs_capture.configure(logging="debug", otlp_endpoint=receiver.endpoint)
            log.info("one")
            for _ in range(3):
                assert obs.force_flush(5_000)
            names = [s.name for s in receiver.spans()]
    finally:
        logging.getLogger("urllib3").setLevel(logging.NOTSET)
    assert names == ["one"]


def test_reconfigure_bridges_once_and_shutdown_stops_it(obs_capture):
    original = logging.Logger.callHandlers
    for _ in range(3):
        obs_capture.configure(logging=True)
    log.info("once")
    assert len(obs_capture.logs()) == 1
    obs_capture.configure(logging=False)
    assert logging.Logger.callHandlers is original  # restored exactly
    log.info("not bridged")
    obs_capture.configure(logging=True)
    obs.shutdown()
    assert logging.Logger.callHandlers is original
    log.info("not bridged either")
    assert [s.name for s in obs_capture.logs()] == ["once"]


def test_the_applications_logging_setup_stays_its_own(obs_capture):
    # A handler on the root logger would make a later basicConfig() a silent no-op, and
    # basicConfig(force=True) / dictConfig would drop it: obs takes no place there.
    root = logging.getLogger()
    before = list(root.handlers)
    obs_capture.configure(logging=True)
    assert root.handlers == before
    logging.config.dictConfig(
        {
            "version": 1,
            "incremental": False,
            "disable_existing_loggers": False,
            "handlers": {"null": {"class": "logging.NullHandler"}},
            "loggers": {"configured": {"handlers": ["null"], "propagate": False, "level": "INFO"}},
        }
    )
    configured = logging.getLogger("configured")
    try:
        logging.getLogger("configured.app").info("kept out of the app's logs %d", 1)
        configured.propagate = True
        logging.getLogger("configured.app").info("still bridged %d", 2)
    finally:
        configured.handlers.clear()
        configured.propagate = True
        configured.setLevel(logging.NOTSET)
    # propagate=False keeps a logger's records out of obs as out of the root's handlers.
    assert [s.name for s in obs_capture.logs()] == ["still bridged %d"]


def test_basic_config_after_obs_still_configures_logging():
    script = textwrap.dedent(
        """
        import logging, obs
        obs.configure(logging=True, console=True, store=False, service_name="s")
        logging.basicConfig(format="app: %(message)s", level=logging.INFO)
        logging.getLogger("app").info("printed by the app's own handler")
        logging.basicConfig(format="again: %(message)s", level=logging.INFO, force=True)
        logging.getLogger("app").info("after force")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    lines = result.stderr.splitlines()
    assert "app: printed by the app's own handler" in lines
    assert "again: after force" in lines
    # ... and obs saw both (its console prints the log spans).
    assert any(line.endswith("INFO   printed by the app's own handler") for line in lines)
    assert any(line.endswith("INFO   after force") for line in lines)


@pytest.mark.parametrize(("value", "expected"), [("1", ["info"]), ("debug", ["debug", "info"])])
def test_environment_switch(obs_capture, monkeypatch, value, expected):
    monkeypatch.setenv("OBS_LOGGING", value)
    obs_capture.configure()
    log.debug("debug")
    log.info("info")
    assert [s.name for s in obs_capture.logs()] == expected


def test_off_by_default(obs_capture, monkeypatch):
    monkeypatch.delenv("OBS_LOGGING", raising=False)
    obs_capture.configure()
    log.warning("not bridged")
    assert obs_capture.logs() == []


def test_an_unconfigured_program_sees_its_info_logs():
    # A new user's script: no logging set-up at all (root at WARNING, no handler).
    script = textwrap.dedent(
        """
        import logging, obs
        obs.configure(logging=True, console=True, store=False, service_name="s")
        with obs.span("job"):
            logging.getLogger("app").info("step %d done", 1)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert "INFO   step 1 done" in result.stderr


def test_handler_in_a_served_app_sits_under_the_server_span(obs_capture):
    obs_capture.configure(logging=True)
    app = FastAPI()

    @app.get("/orders/{order_id}")
    async def order(order_id: int) -> dict[str, int]:
        logging.getLogger("shop.api").info("looking up order %s", order_id)
        return {"order": order_id}

    obs_fastapi.instrument_app(app)
    with Server(app) as server:
        response = httpx.get(f"{server.url}/orders/7")
    assert response.json() == {"order": 7}
    record = obs_capture.one("looking up order %s")
    assert obs_capture.parent(record).name == "GET /orders/{order_id}"
    assert not obs_capture.find(logger_name="uvicorn.access")  # noise quieted by default
    assert not [s for s in obs_capture.logs() if "uvicorn" in str(s.attributes["logger.name"])]
