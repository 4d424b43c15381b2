from __future__ import annotations

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
