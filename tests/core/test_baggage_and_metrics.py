from __future__ import annotations

import logging

from opentelemetry import context as context_api
from opentelemetry.context import Context

import obs


def test_baggage_becomes_attributes_of_spans_inside(obs_capture):
    with obs.baggage(tenant="acme", plan=3):
        assert obs.get_baggage() == {"tenant": "acme", "plan": "3"}
        with obs.span("inside"):
            obs.info("log inside")
    with obs.span("outside"):
        pass
    assert obs_capture.one("inside").attributes["tenant"] == "acme"
    assert obs_capture.one("log inside").attributes["plan"] == "3"
    assert "tenant" not in obs_capture.one("outside").attributes
    assert obs.get_baggage() == {}


def test_baggage_attributes_can_be_switched_off(obs_capture):
    obs_capture.configure(baggage_attributes=False)
    with obs.baggage(tenant="acme"), obs.span("inside"):
        pass
    assert "tenant" not in obs_capture.one("inside").attributes


def test_baggage_with_secret_name_is_scrubbed_on_spans(obs_capture):
    with obs.baggage(session="abc123secret"), obs.span("inside"):
        pass
    assert obs_capture.one("inside").attributes["session"] == "[scrubbed: session]"


def test_metric_helpers(obs_capture):
    obs.counter("orders.created", unit="{order}").add(2, {"region": "eu"})
    obs.up_down_counter("queue.depth").add(-1)
    obs.histogram("payment.duration", unit="s").record(0.25)
    obs.gauge("temperature").set(21.5)
    metrics = obs_capture.metrics()
    assert metrics["orders.created"][0].value == 2
    assert dict(metrics["orders.created"][0].attributes) == {"region": "eu"}
    assert metrics["queue.depth"][0].value == -1
    assert metrics["payment.duration"][0].sum == 0.25
    assert metrics["temperature"][0].value == 21.5


def test_instruments_created_before_configure_follow_reconfiguration(obs_capture):
    counter = obs.counter("early.counter")  # e.g. created at import time
    counter.add(1)
    assert obs_capture.metrics()["early.counter"][0].value == 1
    obs_capture.configure()  # a new meter provider and reader behind the same instrument
    counter.add(5)
    assert obs_capture.metrics()["early.counter"][0].value == 5


def test_metrics_off(obs_capture):
    obs_capture.configure(metrics=False)
    obs.counter("ignored").add(1)
    assert "ignored" not in obs_capture.metrics()


# -- baggage is a client's input: it may not forge, displace or smuggle ------------------------


def _incoming(baggage: str) -> Context:
    return obs.extract({"traceparent": f"00-{'ab' * 16}-{'cd' * 8}-01", "baggage": baggage})


def test_baggage_cannot_set_obs_or_convention_keys(obs_capture):
    forged = (
        "obs.level=fatal,obs.span_type=log,obs.msg=pwned,OBS.Level=x,http.route=/admin,tenant=acme"
    )
    token = context_api.attach(_incoming(forged))
    try:
        with obs.span("GET /items", **{"http.route": "/items"}):
            pass
    finally:
        context_api.detach(token)
    span = obs_capture.one("GET /items")
    attributes = dict(span.attributes or {})
    assert attributes["tenant"] == "acme"
    assert attributes["http.route"] == "/items"
    for key in ("obs.level", "obs.span_type", "obs.msg", "OBS.Level"):
        assert key not in attributes
    assert attributes["obs.baggage.dropped"] == 5
    assert obs_capture.logs() == []  # not turned into a fake log


def test_many_baggage_entries_never_displace_the_spans_own_attributes(obs_capture):
    entries = ",".join(f"k{i}=v{i}" for i in range(180))
    token = context_api.attach(_incoming(entries))
    try:
        own = {f"own.{i}": i for i in range(120)}
        with obs.span("work", **own) as span:
            for i in range(120, 127):
                span.set_attribute(f"own.{i}", i)
    finally:
        context_api.detach(token)
    attributes = dict(obs_capture.one("work").attributes or {})
    assert all(f"own.{i}" in attributes for i in range(127))  # every own attribute kept
    assert len(attributes) <= 128
    assert attributes["obs.baggage.dropped"] >= 180 - 16


def test_baggage_values_are_bounded_and_control_characters_neutralised(obs_capture):
    note = "\x1b[31mred\x1b[0m\r\nline\x07" + "x" * 5000
    with obs.baggage(note=note, bad="\ud800"), obs.span("inside"):
        pass
    attributes = obs_capture.one("inside").attributes or {}
    note = attributes["note"]
    assert "\x1b" not in note
    assert "\r" not in note
    assert "\n" not in note
    assert "\x07" not in note
    assert len(note) <= 256
    assert attributes["bad"].encode("utf-8")  # no lone surrogate left


# -- every channel through the scrubber: metrics, resource, obs's own lines -----------------


def _all_points(capture):
    return [p for points in capture.metrics().values() for p in points]


def test_metric_point_attributes_are_scrubbed_before_any_reader_sees_them(obs_capture):
    obs.counter("logins").add(1, {"password": "Hunter2Metric", "note": "api_key=MetricNoteKey9"})
    obs.histogram("latency").record(3.0, {"url": "https://u:MetricUrlPw7@db.example/x"})
    text = repr(obs_capture.metrics_data())
    assert "Hunter2Metric" not in text
    assert "MetricNoteKey9" not in text
    points = _all_points(obs_capture)
    assert any("scrubbed" in str(p.attributes.get("password")) for p in points)


def test_resource_attributes_are_scrubbed(obs_capture, monkeypatch):
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deploy.api_key=EnvResKey8,team=core")
    obs_capture.configure(resource_attributes={"db.password": "ArgResPw5"})
    with obs.span("s"):
        pass
    obs.counter("c").add(1)
    resource = dict(obs_capture.one("s").resource.attributes)
    assert resource["team"] == "core"
    assert "EnvResKey8" not in repr(resource)
    assert "ArgResPw5" not in repr(resource)
    assert "EnvResKey8" not in repr(obs_capture.metrics_data())


def test_obs_own_log_lines_are_scrubbed(obs_capture, caplog):
    caplog.set_level(logging.DEBUG, logger="obs")
    from obs._diagnostics import logger

    logger.warning("exporting to %s failed", "http://u:password=DiagPw3@h/")
    try:
        raise RuntimeError("token=DiagExcTok5")
    except RuntimeError:
        logger.warning("failure", exc_info=True)
    text = caplog.text
    assert "DiagPw3" not in text
    assert "DiagExcTok5" not in text
    assert "exporting to" in text
