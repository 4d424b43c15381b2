"""The pages in a real headless Chromium, against stores with known content."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from obs._store import connect
from tests.ui.conftest import open_page, serve
from tests.ui.stores import (
    GPT_4O_COST,
    GPT_4O_MINI_COST,
    STACK,
    S,
    http_spans,
    workflow_spans,
    write,
)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return write(tmp_path / "spans.db", http_spans() + workflow_spans())


def panel_rows(page: Any, panel: str) -> list[dict[str, str]]:
    return page.eval_on_selector_all(
        f"[data-panel='{panel}'] tbody tr",
        """rows => rows.map(r => Object.fromEntries(
            [...r.querySelectorAll('td')].map(td => [td.dataset.col, td.textContent])))""",
    )


def test_the_waterfall_shows_one_tree_across_services(page: Any, store: Path) -> None:
    with serve(store) as server:
        open_page(page, server.url + "#/trace/" + "d2".ljust(32, "0"), "trace")
        rows = page.eval_on_selector_all(
            ".wf-row",
            "rows => rows.map(r => [r.dataset.span.slice(0, 1), r.dataset.parent.slice(0, 1),"
            " r.dataset.depth, r.querySelector('.label').textContent,"
            " r.classList.contains('error')])",
        )
        assert rows == [
            ["1", "", "0", "POST /orders", False],
            ["2", "1", "1", "send orders", False],
            ["3", "2", "2", "process orders", True],
            ["4", "3", "3", "run app-2", True],
            ["5", "4", "4", "step triage", False],
            ["6", "5", "5", "chat gpt-4o", True],
            ["7", "4", "4", "step reply", True],
        ]
        # services coloured apart
        colours = page.eval_on_selector_all(
            ".wf-row .span-bar", "bars => bars.map(b => getComputedStyle(b).backgroundColor)"
        )
        assert colours[0] != colours[2]
        # the failing step's detail: attributes, the exception and its stack
        page.click(".wf-row[data-span^='7']")
        detail = page.text_content("#span-detail")
        assert "burr.action" in detail
        assert "ValueError: no reply" in detail
        assert page.text_content("#span-detail pre.stack") == STACK
        assert page.errors == []


def test_links_jump_to_the_linked_trace_and_logs_are_rows(page: Any, tmp_path: Path) -> None:
    store = write(
        tmp_path / "spans.db",
        [
            S("e1", "1", "POST /a", kind="server"),
            S("e1", "2", "hello", parent="1", is_log=True, level="warn", message="hello there"),
            S(
                "e2",
                "1",
                "process a",
                kind="consumer",
                links=[{"trace_id": "e1".ljust(32, "0"), "span_id": "1".ljust(16, "0")}],
            ),
        ],
    )
    with serve(store) as server:
        open_page(page, server.url + "#/trace/" + "e1".ljust(32, "0"), "trace")
        log = page.text_content(".wf-row.log .label")
        assert log == "WARN hello there"
        open_page(page, server.url + "#/trace/" + "e2".ljust(32, "0"), "trace")
        page.click(".wf-row")
        page.click("a[data-link]")
        page.wait_for_function("location.hash.startsWith('#/trace/e1')")
        page.wait_for_selector("body[data-ready='trace']")
        assert page.text_content(".trace-head code") == "e1".ljust(32, "0")


def test_explore_draws_the_chart_from_the_rows(page: Any, store: Path) -> None:
    with serve(store) as server:
        open_page(page, server.url + "#/explore", "explore")
        sql = (
            "SELECT attr(attributes, 'http.route') AS route, count(*) AS requests "
            "FROM spans WHERE kind = 'server' GROUP BY route ORDER BY route"
        )
        page.fill("#sql", sql)
        page.click("#run")
        page.wait_for_selector("#chart svg")
        assert page.get_attribute("#chart svg", "data-kind") == "bar"
        bars = page.eval_on_selector_all(
            "#chart rect.bar", "bars => bars.map(b => [b.dataset.label, Number(b.dataset.y)])"
        )
        assert bars == [["/items/{id}", 10], ["/orders", 6], ["/x", 3]]
        heights = page.eval_on_selector_all(
            "#chart rect.bar", "bars => bars.map(b => Number(b.getAttribute('height')))"
        )
        assert heights[0] > heights[1] > heights[2] > 0
        cells = page.eval_on_selector_all("#result tbody td", "tds => tds.map(t => t.textContent)")
        assert cells == ["/items/{id}", "10", "/orders", "6", "/x", "3"]

        # a time series: one point per row, at the row's values
        page.fill(
            "#sql",
            "SELECT (start_ns / 10000000000) * 10000000000 AS t, count(*) AS n FROM spans "
            "WHERE kind = 'server' GROUP BY t ORDER BY t",
        )
        page.click("#run")
        page.wait_for_selector("#chart svg[data-kind='line']")
        rows = page.eval_on_selector_all(
            "#result tbody tr", "trs => trs.map(r => r.lastChild.textContent)"
        )
        points = page.eval_on_selector_all("#chart circle", "cs => cs.map(c => c.dataset.y)")
        assert points == rows
        assert sum(int(p) for p in points) == 19

        # saved queries survive a reload (localStorage)
        page.fill("#save-name", "servers per 10s")
        page.click("#save")
        page.reload()
        page.wait_for_selector("body[data-ready='explore']")
        assert page.text_content("#saved li button") == "servers per 10s"

        # an error is shown, the store is untouched
        page.fill("#sql", "DELETE FROM spans")
        page.click("#run")
        page.wait_for_selector("#query-error")
        assert "not authorized" in page.text_content("#query-error")
        assert page.errors == []


def test_a_new_span_appears_live(page: Any, store: Path) -> None:
    with serve(store) as server:
        open_page(page, server.url + "#/live", "live")
        page.wait_for_selector("#trace-rows tr")
        assert page.query_selector("tr[data-trace^='f1']") is None
        writer = connect(store)
        written = time.monotonic()
        with writer:
            writer.execute(
                "INSERT INTO spans VALUES (" + ", ".join("?" for _ in S("x", "y", "z").row()) + ")",
                S("f1", "1", "GET /fresh", kind="server", at_ms=1).row(),
            )
        page.wait_for_selector("tr[data-trace^='f1']", timeout=5000)
        seen_after = time.monotonic() - written
        assert seen_after < 2.0, seen_after
        assert page.text_content("tr[data-trace^='f1'] a") == "GET /fresh"
        # a log line written into an open trace appears in its waterfall
        page.click("tr[data-trace^='f1'] a")
        page.wait_for_selector("body[data-ready='trace']")
        with writer:
            writer.execute(
                "INSERT INTO spans VALUES (" + ", ".join("?" for _ in S("x", "y", "z").row()) + ")",
                S("f1", "2", "m", parent="1", is_log=True, level="info", message="late log").row(),
            )
        page.wait_for_selector(".wf-row.log", timeout=5000)
        assert page.text_content(".wf-row.log .label") == "INFO late log"
        writer.close()


def test_the_http_dashboard_figures(page: Any, store: Path) -> None:
    with serve(store) as server:
        open_page(page, server.url + "#/dash/http?service=shop", "dash")
        rows = {r["route"]: r for r in panel_rows(page, "routes")}
        assert set(rows) == {"/items/{id}", "/orders"}  # service filter: /x is "other"
        items = rows["/items/{id}"]
        assert (items["requests"], items["p50_ms"], items["p95_ms"], items["p99_ms"]) == (
            "10",
            "5.5",
            "9.55",
            "9.91",
        )
        assert (items["errors"], items["error_pct"]) == ("2", "20")
        orders = rows["/orders"]  # 20, 40, 60, 80 and the two workflow traces' 50 and 30
        assert (orders["requests"], orders["p50_ms"], orders["errors"]) == ("6", "45", "0")
        total = page.eval_on_selector_all(
            "[data-panel='traffic'] circle[data-series='requests']",
            "cs => cs.reduce((a, c) => a + Number(c.dataset.y), 0)",
        )
        assert total == 16


def test_the_messaging_burr_and_llm_dashboards_figures(page: Any, store: Path) -> None:
    with serve(store) as server:
        open_page(page, server.url + "#/dash/messaging", "dash")
        (orders,) = panel_rows(page, "destinations")
        assert (orders["destination"], orders["sent"], orders["processed"]) == ("orders", "2", "2")
        assert (orders["process_p50_ms"], orders["failures"]) == ("8", "1")

        open_page(page, server.url + "#/dash/burr", "dash")
        (runs,) = panel_rows(page, "runs")
        assert (runs["runs"], runs["failures"]) == ("2", "1")
        actions = {r["action"]: r for r in panel_rows(page, "actions")}
        assert (actions["triage"]["steps"], actions["triage"]["p50_ms"]) == ("2", "4")
        assert (actions["reply"]["steps"], actions["reply"]["failures"]) == ("1", "1")

        open_page(page, server.url + "#/dash/llm", "dash")
        models = {r["model"]: r for r in panel_rows(page, "models")}
        mini = models["gpt-4o-mini-2024-07-18"]  # the response model wins over the request's
        assert (mini["calls"], mini["input_tokens"], mini["output_tokens"]) == ("1", "1000", "500")
        assert mini["cached_input_tokens"] == "200"
        plain = models["gpt-4o-mini"]
        assert (plain["calls"], plain["input_tokens"]) == ("1", "2000")
        big = models["gpt-4o"]
        assert (big["errors"], float(big["cost_usd"])) == ("1", GPT_4O_COST)
        total_mini = float(mini["cost_usd"]) + float(plain["cost_usd"])
        assert total_mini == pytest.approx(GPT_4O_MINI_COST, abs=2e-6)
        # cost rolled up per route, per destination, per Burr run
        (route,) = panel_rows(page, "cost_by_route")
        assert (route["route"], route["llm_calls"]) == ("POST /orders", "3")
        assert float(route["cost_usd"]) == pytest.approx(GPT_4O_MINI_COST + GPT_4O_COST, abs=2e-6)
        (dest,) = panel_rows(page, "cost_by_destination")
        assert (dest["destination"], dest["llm_calls"]) == ("orders", "3")
        runs = {r["run"]: r for r in panel_rows(page, "cost_by_run")}
        assert float(runs["run app-1"]["cost_usd"]) == pytest.approx(GPT_4O_MINI_COST, abs=2e-6)
        assert float(runs["run app-2"]["cost_usd"]) == pytest.approx(GPT_4O_COST, abs=2e-6)
        assert page.errors == []


def test_the_time_filter_excludes_older_spans(page: Any, tmp_path: Path) -> None:
    store = write(
        tmp_path / "spans.db",
        [
            S(
                "g1",
                "1",
                "GET /old",
                kind="server",
                at_ms=3 * 3600_000,
                attributes={"http.route": "/old", "http.request.method": "GET"},
            ),
            S(
                "g2",
                "1",
                "GET /new",
                kind="server",
                at_ms=60_000,
                attributes={"http.route": "/new", "http.request.method": "GET"},
            ),
        ],
    )
    with serve(store) as server:
        open_page(page, server.url + "#/dash/http?range=1h", "dash")
        assert [r["route"] for r in panel_rows(page, "routes")] == ["/new"]
        open_page(page, server.url + "#/dash/http?range=6h", "dash")
        assert sorted(r["route"] for r in panel_rows(page, "routes")) == ["/new", "/old"]
