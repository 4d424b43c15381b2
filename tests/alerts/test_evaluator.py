"""The evaluator over a real store file, delivering to a real loopback webhook."""

from __future__ import annotations

import json
import logging
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from obs._alerts import alert_status, load_config
from obs._alerts.evaluator import Evaluator
from obs._alerts.loading import AlertConfig
from obs._store import connect, percentile
from tests.alerts.helpers import Receiver, Spans

S = 1_000_000_000


def config(*rules: dict[str, Any], **settings: Any) -> AlertConfig:
    loaded = load_config({"rules": list(rules), **settings})
    assert loaded is not None
    return loaded


def error_rule(url: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": "High error rate",
        "condition": "error_rate > 5%",
        "window": "60s",
        "channels": [url],
        "resolve_after": 0,  # resolve at the first recovered evaluation (default: a window)
        **extra,
    }


def test_fires_once_with_the_payload_then_resolves_once(
    store: Path, spans: Spans, receiver: Receiver
) -> None:
    now = time.time_ns()
    for i in range(10):
        spans.add(at_ns=now - (30 - i) * S)
    spans.add(at_ns=now - 20 * S, status="error")
    failing = spans.add(at_ns=now - 10 * S, status="error")
    evaluator = Evaluator(config(error_rule(receiver.url)), store)
    try:
        (fired,) = evaluator.evaluate_once(now)
        assert evaluator.evaluate_once(now + 1 * S) == []  # still breaching: said once
        (body,) = receiver.wait_for(1)
        assert body["rule"] == "High error rate"
        assert body["state"] == "firing"
        assert body["value"] == pytest.approx(2 / 12)
        assert (body["threshold"], body["comparison"], body["window_s"]) == (0.05, ">", 60.0)
        assert body["metric"] == "error_rate"
        assert body["example_trace_id"] == failing
        assert body["store"] == str(store)
        assert body["host"]
        assert body["started_at"].endswith("Z")
        assert body["resolved_at"] is None

        # A minute later the window holds only successes.
        spans.add(at_ns=now + 61 * S)
        (_resolved,) = evaluator.evaluate_once(now + 62 * S)
        assert evaluator.evaluate_once(now + 63 * S) == []
        bodies = receiver.wait_for(2)
        assert [b["state"] for b in bodies] == ["firing", "resolved"]
        assert bodies[1]["incident_id"] == bodies[0]["incident_id"] == fired.incident_id
        assert bodies[1]["value"] == 0.0
        assert bodies[1]["resolved_at"] is not None
    finally:
        evaluator.stop()


def test_repeats_at_its_interval(store: Path, spans: Spans, receiver: Receiver) -> None:
    now = time.time_ns()
    spans.add(at_ns=now - S, status="error")
    rule = error_rule(receiver.url, repeat_interval="10s")
    evaluator = Evaluator(config(rule), store)
    try:
        kinds = [
            [(n.state, n.repeat) for n in evaluator.evaluate_once(now + t * S)]
            for t in (0, 5, 10, 15, 21)
        ]
        assert kinds == [[("firing", False)], [], [("firing", True)], [], [("firing", True)]]
    finally:
        evaluator.stop()


def test_state_survives_a_restart(store: Path, spans: Spans, receiver: Receiver) -> None:
    now = time.time_ns()
    spans.add(at_ns=now - S, status="error")
    first = Evaluator(config(error_rule(receiver.url)), store)
    (fired,) = first.evaluate_once(now)
    first.stop()  # the process restarts

    second = Evaluator(config(error_rule(receiver.url)), store)
    try:
        assert second.evaluate_once(now + S) == []  # the open incident is remembered
        spans.add(at_ns=now + 70 * S)
        (resolved,) = second.evaluate_once(now + 71 * S)
        assert resolved.state == "resolved"
        assert resolved.incident_id == fired.incident_id
        assert [b["state"] for b in receiver.wait_for(2)] == ["firing", "resolved"]
    finally:
        second.stop()


def test_two_evaluators_on_one_store_notify_once(
    store: Path, spans: Spans, receiver: Receiver
) -> None:
    now = time.time_ns()
    spans.add(at_ns=now - S, status="error")
    api = Evaluator(config(error_rule(receiver.url)), store)
    worker = Evaluator(config(error_rule(receiver.url)), store)
    try:
        sent = api.evaluate_once(now) + worker.evaluate_once(now)
        sent += worker.evaluate_once(now + S) + api.evaluate_once(now + S)
        assert len(sent) == 1
        assert api.is_leader
        assert not worker.is_leader
        api.stop()  # hands the lease over
        assert worker.evaluate_once(now + 2 * S) == []  # the incident is known: no second fire
        assert worker.is_leader
        time.sleep(0.3)
        assert len(receiver.bodies()) == 1
    finally:
        api.stop()
        worker.stop()


HOLDER = """
import sys, time
from obs._alerts import load_config
from obs._alerts.evaluator import Evaluator
evaluator = Evaluator(load_config([{"name": "r", "condition": "errors > 0"}]), sys.argv[1])
evaluator.evaluate_once()
print("holding", flush=True)
time.sleep(600)
"""


def test_lease_taken_over_when_its_holder_is_killed(store: Path, spans: Spans) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(store)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "holding"
        evaluator = Evaluator(config({"name": "r", "condition": "errors > 0"}), store)
        evaluator.evaluate_once()
        assert not evaluator.is_leader
        with connect(store) as conn:
            assert conn.execute("SELECT pid FROM alert_lease").fetchone()[0] == proc.pid
        proc.kill()
        proc.wait()
        evaluator.evaluate_once()  # the holder's process is gone: no need to wait for expiry
        assert evaluator.is_leader
        evaluator.stop()
    finally:
        proc.kill()
        proc.wait()


def test_lease_of_another_host_is_respected_until_it_expires(store: Path, spans: Spans) -> None:
    evaluator = Evaluator(config({"name": "r", "condition": "errors > 0"}), store)
    evaluator.evaluate_once()  # creates the tables
    evaluator.stop()
    now = time.time_ns()
    with connect(store) as conn:
        conn.execute(
            "INSERT INTO alert_lease VALUES ('evaluator', 'other:1:x', 'other-host', 1, ?, ?)",
            (now, now + 5 * S),
        )
    evaluator = Evaluator(config({"name": "r", "condition": "errors > 0"}), store)
    try:
        evaluator.evaluate_once(now + 4 * S)
        assert not evaluator.is_leader
        evaluator.evaluate_once(now + 6 * S)
        assert evaluator.is_leader
    finally:
        evaluator.stop()


def test_grouped_rules_fire_per_group(store: Path, spans: Spans, receiver: Receiver) -> None:
    now = time.time_ns()
    for i in range(5):
        spans.add(at_ns=now - i * S, attributes={"http.route": "/ok"})
        spans.add(at_ns=now - i * S, status="error", attributes={"http.route": "/broken"})
    rule = error_rule(receiver.url, group_by="route")
    evaluator = Evaluator(config(rule), store)
    try:
        (fired,) = evaluator.evaluate_once(now)
        assert fired.group == {"route": "/broken"}
        assert receiver.wait_for(1)[0]["group"] == {"route": "/broken"}
    finally:
        evaluator.stop()


def test_latency_percentile_matches_the_store(store: Path, spans: Spans) -> None:
    rng = random.Random(7)
    now = time.time_ns()
    durations = [rng.uniform(1, 3000) for _ in range(257)]
    for d in durations:
        spans.add(at_ns=now - S, duration_ms=d)
    spans.add(at_ns=now - 400 * S, duration_ms=1e9)  # outside the window
    spans.add(at_ns=now - S, duration_ms=1e9, kind="client")  # not a request
    evaluator = Evaluator(
        config({"name": "Slow", "condition": "p95_latency > 1s", "window": 300}), store
    )
    try:
        (fired,) = evaluator.evaluate_once(now)
        expected = percentile(durations, 95)
        assert expected is not None
        assert fired.value == pytest.approx(expected / 1000)
        assert fired.example_trace_id is not None
    finally:
        evaluator.stop()


def test_llm_tokens_cost_and_message_failures(store: Path, spans: Spans) -> None:
    now = time.time_ns()
    for model, tokens_in, tokens_out in (("gpt-4o", 1000, 500), ("gpt-4o-mini", 200, 100)):
        spans.add(
            at_ns=now - S,
            kind="client",
            name=f"chat {model}",
            attributes={
                "gen_ai.request.model": model,
                "gen_ai.usage.input_tokens": tokens_in,
                "gen_ai.usage.output_tokens": tokens_out,
            },
        )
    for status in ("ok", "error", "error"):
        spans.add(
            at_ns=now - S,
            kind="consumer",
            status=status,
            name="process orders",
            attributes={"messaging.destination.name": "orders"},
        )
    rules = [
        {"name": "tokens", "condition": "tokens > 1000", "group_by": "model"},
        {
            "name": "cost",
            "condition": "cost > 0.001",
            "input_price_per_1m": 2.0,
            "output_price_per_1m": 8.0,
        },
        {"name": "mini tokens", "condition": "tokens > 1000", "model": "gpt-4o-mini"},
        {"name": "queue", "condition": "message_failures >= 2", "group_by": "destination"},
    ]
    evaluator = Evaluator(config(*rules), store)
    try:
        fired = {(n.rule, json.dumps(n.group)): n.value for n in evaluator.evaluate_once(now)}
        assert fired == {
            ("tokens", '{"model": "gpt-4o"}'): 1500,
            ("cost", "{}"): pytest.approx((1200 * 2 + 600 * 8) / 1e6),
            ("queue", '{"destination": "orders"}'): 2,
        }
    finally:
        evaluator.stop()


def test_sql_rule(store: Path, spans: Spans) -> None:
    now = time.time_ns()
    spans.add(at_ns=now - S, service="billing", status="error", trace_id="ab" * 16)
    query = (
        "SELECT service_name AS service, count(*) AS value, max(trace_id) AS trace_id "
        "FROM spans WHERE start_ns >= :since_ns AND status = 'error' GROUP BY service_name"
    )
    evaluator = Evaluator(
        config({"name": "errors by service", "metric": "sql", "query": query, "threshold": 0}),
        store,
    )
    try:
        (fired,) = evaluator.evaluate_once(now)
        assert (fired.group, fired.value, fired.example_trace_id) == (
            {"service": "billing"},
            1,
            "ab" * 16,
        )
    finally:
        evaluator.stop()


def test_a_slow_query_is_bounded_counted_and_said_once(
    store: Path, spans: Spans, caplog: pytest.LogCaptureFixture
) -> None:
    from obs._diagnostics import reset_said

    reset_said()
    now = time.time_ns()
    spans.add(at_ns=now - S, status="error")
    endless = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n"
    )
    rules = [
        {"name": "endless", "metric": "sql", "query": endless, "threshold": 0},
        {"name": "errors", "condition": "errors > 0"},
    ]
    evaluator = Evaluator(config(*rules, query_timeout=0.2), store)
    try:
        with caplog.at_level(logging.WARNING, logger="obs"):
            started = time.monotonic()
            fired = evaluator.evaluate_once(now)
            evaluator.evaluate_once(now + S)
            elapsed = time.monotonic() - started
        assert elapsed < 2.0
        assert [n.rule for n in fired] == ["errors"]  # the other rules carry on
        assert evaluator.failures == 2
        said = [r for r in caplog.records if "'endless' could not be evaluated" in r.message]
        assert len(said) == 1
        assert "took more than 0.2s" in said[0].message
        with connect(store) as conn:
            status = alert_status(conn)
        endless_state = next(r for r in status["rules"] if r["name"] == "endless")
        assert "took more than" in endless_state["values"][0]["error"]
    finally:
        evaluator.stop()


def test_the_store_is_created_when_nothing_was_written_yet(tmp_path: Path) -> None:
    path = tmp_path / "new" / "spans.db"
    evaluator = Evaluator(config({"name": "r", "condition": "errors > 0"}), path)
    try:
        assert evaluator.evaluate_once() == []
        assert evaluator.is_leader
        assert os.path.exists(path)
    finally:
        evaluator.stop()


def test_a_busy_store_skips_an_evaluation_quietly(
    store: Path, spans: Spans, caplog: pytest.LogCaptureFixture
) -> None:
    evaluator = Evaluator(config({"name": "r", "condition": "errors > 0"}), store)
    evaluator.evaluate_once()
    blocker = connect(store)
    blocker.isolation_level = None
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the store longer than we wait
    try:
        with caplog.at_level(logging.WARNING, logger="obs"):
            evaluator._evaluate_safely()
        assert evaluator.busy == 1
        assert evaluator.failures == 0
        assert "failed" not in caplog.text
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
        evaluator.stop()


def test_a_nan_attribute_does_not_break_a_rule(store: Path, spans: Spans) -> None:
    # The store writes a NaN attribute as `NaN`, which SQLite's JSON functions refuse.
    now = time.time_ns()
    spans.add(at_ns=now - S, attributes={"http.route": "/a", "score": float("nan")})
    spans.add(at_ns=now - S, status="error", attributes={"http.route": "/a"})
    evaluator = Evaluator(
        config({"name": "r", "condition": "errors > 0", "group_by": "route"}), store
    )
    try:
        (fired,) = evaluator.evaluate_once(now)
        assert (fired.group, fired.value) == ({"route": "/a"}, 1)
        assert evaluator.failures == 0
    finally:
        evaluator.stop()


def test_a_removed_rule_closes_its_incidents_quietly(
    store: Path, spans: Spans, receiver: Receiver
) -> None:
    now = time.time_ns()
    spans.add(at_ns=now - S, status="error")
    first = Evaluator(config(error_rule(receiver.url)), store)
    first.evaluate_once(now)
    first.stop()
    second = Evaluator(config({"name": "Other", "condition": "count < 0"}), store)
    try:
        assert second.evaluate_once(now + S) == []
        with connect(store) as conn:
            status = alert_status(conn)
        assert status["open"] == []
        assert [i["rule"] for i in status["resolved"]] == ["High error rate"]
        assert [r["name"] for r in status["rules"]] == ["Other"]
        time.sleep(0.2)
        assert len(receiver.bodies()) == 1  # the firing only
    finally:
        second.stop()


def test_a_flap_is_one_incident_by_default(store: Path, spans: Spans, receiver: Receiver) -> None:
    # Default cool-down: recovered for a whole window before it resolves.
    now = time.time_ns()
    rule = {
        "name": "r",
        "condition": "error_rate > 5%",
        "window": "10s",
        "channels": [receiver.url],
    }
    evaluator = Evaluator(config(rule), store)
    try:
        states = []
        for t, status in ((0, "error"), (11, "ok"), (15, "error"), (26, "ok"), (30, "ok")):
            spans.add(at_ns=now + t * S, status=status)
            states += [n.state for n in evaluator.evaluate_once(now + t * S + S // 2)]
        assert states == ["firing"]  # the relapse at 15 s is the same incident
        spans.add(at_ns=now + 36 * S)
        states += [n.state for n in evaluator.evaluate_once(now + 36 * S + S // 2)]
        assert states == ["firing", "resolved"]  # recovered since 26 s: a window later
        assert [b["state"] for b in receiver.wait_for(2)] == ["firing", "resolved"]
    finally:
        evaluator.stop()
