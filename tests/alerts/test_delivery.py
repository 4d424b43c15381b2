"""Delivery: off the caller's path, retried within a bound, failures said once, URLs masked."""

from __future__ import annotations

import logging
import time

import pytest

from obs._alerts import delivery
from obs._alerts.channels import ConsoleChannel, Notification, SlackWebhook, Webhook
from obs._alerts.delivery import Deliverer
from obs._diagnostics import reset_said
from obs._scrubbing import Scrubber
from tests.alerts.helpers import Receiver, refused_url


def notification(**overrides: object) -> Notification:
    fields: dict[str, object] = {
        "rule": "High error rate",
        "state": "firing",
        "metric": "error_rate",
        "value": 0.5,
        "threshold": 0.05,
        "comparison": ">",
        "unit": "ratio",
        "window_s": 60.0,
        "group": {"route": "/items/{id}"},
        "incident_id": 1,
        "started_ns": time.time_ns(),
        "at_ns": time.time_ns(),
        "example_trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
        "store": "/srv/.obs/spans.db",
        "host": "api-1",
    }
    fields.update(overrides)
    return Notification(**fields)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(delivery, "FIRST_BACKOFF_S", 0.01)
    reset_said()


def test_webhook_gets_the_json_payload_and_headers(receiver: Receiver) -> None:
    deliverer = Deliverer()
    deliverer.send(notification(), (Webhook(receiver.url, headers={"X-Team": "ops"}),))
    (body,) = receiver.wait_for(1)
    deliverer.close()
    assert body["rule"] == "High error rate"
    assert body["summary"].startswith("[FIRING] High error rate: error_rate 50%")
    assert receiver.headers[0]["X-Team"] == "ops"
    assert receiver.headers[0]["Content-Type"] == "application/json"


def test_slack_gets_text_and_blocks(receiver: Receiver) -> None:
    deliverer = Deliverer()
    deliverer.send(notification(group={"route": "<!channel> /x"}), (SlackWebhook(receiver.url),))
    (body,) = receiver.wait_for(1)
    deliverer.close()
    assert set(body) == {"text", "blocks"}
    assert "High error rate" in body["text"]
    details = body["blocks"][1]["text"]["text"]
    assert "4bf92f3577b34da6a3ce929d0e0e4736" in details
    assert "<!channel>" not in details  # a value from the store cannot ping a channel
    assert "&lt;!channel&gt;" in details


def test_retries_with_backoff_then_delivers(caplog: pytest.LogCaptureFixture) -> None:
    with Receiver(statuses=[500, 503]) as receiver:
        deliverer = Deliverer()
        deliverer.send(notification(), (Webhook(receiver.url),))
        assert len(receiver.wait_for(1)) == 1
        deliverer.close()
        assert receiver.requests == 3
        stats = next(iter(deliverer.stats.values()))
        assert (stats.sent, stats.failed) == (1, 0)


def test_a_client_error_is_not_retried() -> None:
    with Receiver(statuses=[404]) as receiver:
        deliverer = Deliverer()
        deliverer.send(notification(), (Webhook(receiver.url),))
        assert deliverer.flush(5)
        deliverer.close()
        assert receiver.requests == 1
        assert next(iter(deliverer.stats.values())).failed == 1


def test_failures_said_once_then_recovery_said(caplog: pytest.LogCaptureFixture) -> None:
    statuses = [500] * delivery.MAX_ATTEMPTS * 2  # two notifications fail, the third passes
    with Receiver(statuses=statuses) as receiver, caplog.at_level(logging.WARNING, "obs"):
        deliverer = Deliverer()
        channel = Webhook(receiver.url)
        for i in range(3):
            deliverer.send(notification(incident_id=i), (channel,))
        assert len(receiver.wait_for(1)) == 1
        deliverer.close()
    messages = [r.getMessage() for r in caplog.records if r.name == "obs"]
    assert len([m for m in messages if "is failing" in m]) == 1
    (recovered,) = [m for m in messages if "works again" in m]
    assert "2 notification(s) were lost" in recovered
    for message in messages:
        assert "SECRET" not in message  # the webhook path is a secret
        assert f"http://127.0.0.1:{receiver.port}/…" in message
    stats = deliverer.stats[channel.label]
    assert (stats.sent, stats.failed) == (1, 2)


def test_a_refused_webhook_costs_the_caller_nothing(caplog: pytest.LogCaptureFixture) -> None:
    deliverer = Deliverer()
    channel = Webhook(refused_url())
    with caplog.at_level(logging.WARNING, "obs"):
        started = time.perf_counter()
        for i in range(20):
            deliverer.send(notification(incident_id=i), (channel,))
        assert time.perf_counter() - started < 0.05
        assert deliverer.flush(20)
        deliverer.close()
    assert deliverer.stats[channel.label].failed == 20
    assert len([r for r in caplog.records if "is failing" in r.getMessage()]) == 1
    assert "connection refused" in caplog.text


def test_a_hanging_webhook_does_not_hold_shutdown() -> None:
    with Receiver(hang=True) as receiver:
        deliverer = Deliverer()
        started = time.perf_counter()
        deliverer.send(notification(), (Webhook(receiver.url, timeout_s=30),))
        assert time.perf_counter() - started < 0.05
        deadline = time.monotonic() + 5
        while receiver.requests == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert receiver.requests == 1  # the request is in flight, and hangs
        started = time.perf_counter()
        deliverer.close(timeout_s=0.5)
        assert time.perf_counter() - started < 1.5


def test_payload_values_pass_through_the_scrubber(receiver: Receiver) -> None:
    deliverer = Deliverer(Scrubber())
    secret = "Bearer abcdefghijklmnopqrstuvwxyz"
    deliverer.send(
        notification(rule="login password=hunter2", group={"route": secret}),
        (Webhook(receiver.url),),
    )
    (body,) = receiver.wait_for(1)
    deliverer.close()
    text = str(body)
    assert "hunter2" not in text
    assert "abcdefghijklmnop" not in text
    assert "[scrubbed" in body["group"]["route"]


def test_console_channel_logs(caplog: pytest.LogCaptureFixture) -> None:
    deliverer = Deliverer()
    with caplog.at_level(logging.WARNING, "obs.alerts"):
        deliverer.send(notification(state="resolved"), (ConsoleChannel(),))
    (record,) = [r for r in caplog.records if r.name == "obs.alerts"]
    assert "[RESOLVED] High error rate" in record.getMessage()
    assert "4bf92f3577b34da6a3ce929d0e0e4736" in record.getMessage()


def test_shutdown_does_not_wait_for_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(delivery, "FIRST_BACKOFF_S", 2.0)  # a retry would wait 1-2 s
    deliverer = Deliverer()
    channel = Webhook(refused_url())
    deliverer.send(notification(), (channel,))
    time.sleep(0.2)  # the first attempt failed; the worker waits to retry
    started = time.perf_counter()
    deliverer.close(timeout_s=5)
    assert time.perf_counter() - started < 1.0
    assert deliverer.stats[channel.label].failed == 1
