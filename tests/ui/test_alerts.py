"""The Alerts page and its endpoint, over a store the real alerts engine has evaluated."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from obs._alerts import load_config
from obs._alerts.evaluator import Evaluator
from tests.alerts.helpers import Spans
from tests.ui.conftest import open_page, serve
from tests.ui.stores import http_spans, write
from tests.ui.test_server import request

S = 1_000_000_000
HOSTILE = '<img src=x onerror="window.__pwned=1">'
HOSTILE_ROUTE = '"><svg onload="window.__pwned=2">'


@pytest.fixture
def alert_store(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """Spans with one failing request in two, rules evaluated once: an incident is firing.

    The second rule's name and the group value it reports are planted markup.
    """
    path = tmp_path / "spans.db"
    spans = Spans(path)
    now = time.time_ns()
    spans.add(at_ns=now - S)
    failing = spans.add(at_ns=now - S, status="error")
    spans.add(at_ns=now - S, attributes={"http.route": HOSTILE_ROUTE}, duration_ms=2500)
    spans.close()
    config = load_config(
        [
            {"name": "High error rate", "condition": "error_rate > 5%"},
            {"name": HOSTILE, "condition": "p95_latency > 1s", "window": 300, "group_by": "route"},
        ]
    )
    assert config is not None
    evaluator = Evaluator(config, path)
    evaluator.evaluate_once(now)
    try:
        yield path, failing
    finally:
        evaluator.stop()


def test_the_endpoint_returns_rules_values_incidents_and_the_evaluator(
    alert_store: tuple[Path, str],
) -> None:
    store, failing = alert_store
    before = store.read_bytes()
    with serve(store) as server:
        status, headers, body = request(server, "GET", "/api/alerts")
        assert status == 200
        assert headers["content-type"] == "application/json; charset=utf-8"
        assert "default-src 'none'" in headers["content-security-policy"]
        data = json.loads(body)
        # the same checks as every endpoint: a foreign Host is refused
        assert request(server, "GET", "/api/alerts", headers={"Host": "evil.example:80"})[0] == 421
    assert store.read_bytes() == before  # read-only
    rules = {r["name"]: r for r in data["rules"]}
    assert set(rules) == {"High error rate", HOSTILE}
    error_rule = rules["High error rate"]
    assert error_rule["condition"] == "error_rate > 5% over 1m"
    assert error_rule["threshold_text"] == "5%"
    (value,) = error_rule["values"]
    assert value["breaching"] is True
    assert value["value_text"] == "33.33%"
    assert {tuple(v["group"].items()) for v in rules[HOSTILE]["values"]} >= {
        (("route", HOSTILE_ROUTE),)
    }
    by_rule = {i["rule"]: i for i in data["open"]}
    assert by_rule["High error rate"]["example_trace_id"] == failing
    assert by_rule["High error rate"]["value_text"] == "33.33%"
    assert data["evaluator"]["pid"] == os.getpid()


def test_the_endpoint_needs_the_token_when_one_is_set(alert_store: tuple[Path, str]) -> None:
    store, _ = alert_store
    with serve(store, token="s3cret") as server:
        assert request(server, "GET", "/api/alerts")[0] == 401
        auth = {"Authorization": "Bearer s3cret"}
        assert request(server, "GET", "/api/alerts", headers=auth)[0] == 200


def test_a_store_without_alert_tables_gives_empty_lists(tmp_path: Path) -> None:
    store = write(tmp_path / "spans.db", http_spans())
    with serve(store) as server:
        status, _, body = request(server, "GET", "/api/alerts")
    assert status == 200
    assert json.loads(body) == {"rules": [], "open": [], "resolved": [], "evaluator": None}


def rows(page: Any, panel: str) -> list[dict[str, str]]:
    return page.eval_on_selector_all(
        f"[data-panel='{panel}'] tbody tr",
        """rows => rows.map(r => Object.fromEntries(
            [...r.querySelectorAll('td')].map(td => [td.dataset.col, td.textContent])))""",
    )


def test_the_page_shows_the_rule_the_incident_and_its_trace(
    page: Any, alert_store: tuple[Path, str]
) -> None:
    store, failing = alert_store
    with serve(store) as server:
        open_page(page, server.url + "#/alerts", "alerts")
        page.wait_for_timeout(500)  # time for a planted image's onerror to fire, were it markup
        assert page.evaluate("window.__pwned") is None
        assert page.eval_on_selector_all("#main img, #main svg, #main script", "e => e.length") == 0
        rule_rows = rows(page, "alert-rules")
        error_row = next(r for r in rule_rows if r["rule"] == "High error rate")
        assert error_row["condition"] == "error_rate > 5% over 1m"
        assert error_row["threshold"] == "> 5%"
        assert error_row["window"] == "60 s"
        assert error_row["value"] == "33.33%"
        assert error_row["state"] == "breaching"
        # the planted rule name and group value are text, not markup
        hostile_rows = [r for r in rule_rows if r["rule"] == HOSTILE]
        assert hostile_rows
        assert any(r["group"] == f"route={HOSTILE_ROUTE}" for r in hostile_rows)
        open_rows = rows(page, "alert-open")
        incident = next(r for r in open_rows if r["rule"] == "High error rate")
        assert incident["value"] == "33.33%"
        assert incident["threshold"] == "> 5%"
        assert incident["example trace"] == failing
        links = page.eval_on_selector_all(
            "[data-panel='alert-open'] a", "links => links.map(a => a.getAttribute('href'))"
        )
        assert "#/trace/" + failing in links
        assert all(link.startswith("#/trace/") for link in links)
        assert page.text_content("#evaluator [data-col='pid']") == str(os.getpid())
        # the trace link opens the trace page
        page.click(f"[data-panel='alert-open'] a[href='#/trace/{failing}']")
        page.wait_for_selector("body[data-ready='trace']", timeout=15_000)
        assert page.errors == []


def test_the_page_refreshes(page: Any, alert_store: tuple[Path, str]) -> None:
    store, _ = alert_store
    with serve(store) as server:
        open_page(page, server.url + "#/alerts", "alerts")
        first = page.text_content("#alerts-status")
        page.wait_for_function(
            "first => document.getElementById('alerts-status').textContent !== first",
            arg=first,
            timeout=10_000,
        )
        assert page.errors == []


def test_a_store_without_alerts_says_so(page: Any, tmp_path: Path) -> None:
    store = write(tmp_path / "spans.db", http_spans())
    with serve(store) as server:
        open_page(page, server.url + "#/alerts", "alerts")
        assert "No alert rules in this store" in page.text_content("#alerts-empty")
        assert page.errors == []


def test_a_resolved_incident_moves_to_recently_resolved(page: Any, tmp_path: Path) -> None:
    path = tmp_path / "spans.db"
    spans = Spans(path)
    now = time.time_ns() - 200 * S
    spans.add(at_ns=now - S, status="error")
    config = load_config([{"name": "Errors", "condition": "error_rate > 5%", "resolve_after": 0}])
    assert config is not None
    evaluator = Evaluator(config, path)
    try:
        evaluator.evaluate_once(now)
        for i in range(5):  # a minute later only successes: the rule resolves
            spans.add(at_ns=now + 100 * S + i)
        spans.close()
        evaluator.evaluate_once(now + 110 * S)
    finally:
        evaluator.stop()
    with serve(path) as server:
        open_page(page, server.url + "#/alerts", "alerts")
        (resolved,) = rows(page, "alert-resolved")
        assert resolved["rule"] == "Errors"
        assert resolved["peak"] == "100%"  # the worst value while it lasted
        assert resolved["resolved"]
        assert "No open incidents" in page.text_content("[data-panel='alert-open']")
        assert page.errors == []
