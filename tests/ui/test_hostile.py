"""Stored strings are untrusted: planted markup and script URLs must show as text and never run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.ui.conftest import open_page, serve
from tests.ui.stores import S, write

PAYLOADS = [
    '<img src=x onerror="window.__pwned=1">',
    "<script>window.__pwned=2</script>",
    "javascript:window.__pwned=3",
    '"><svg onload="window.__pwned=4">',
    "</textarea><iframe src=javascript:window.__pwned=5>",
]
HOSTILE_ID = "javascript:window.__pwned=6"


def hostile_store(path: Path) -> Path:
    spans = []
    for i, payload in enumerate(PAYLOADS):
        trace = f"bad{i}"
        spans += [
            S(
                trace,
                "1",
                payload,
                kind="server",
                service=payload,
                status="error",
                status_message=payload,
                attributes={
                    payload: payload,
                    "http.route": payload,
                    "http.request.method": payload,
                    "gen_ai.operation.name": payload,
                    "messaging.destination.name": payload,
                },
                events=[
                    {
                        "name": "exception",
                        "time_ns": 1,
                        "attributes": {
                            "exception.type": payload,
                            "exception.message": payload,
                            "exception.stacktrace": payload,
                        },
                    }
                ],
                links=[{"trace_id": HOSTILE_ID, "span_id": payload}, {"trace_id": payload}],
            ),
            S(trace, "2", payload, parent="1", is_log=True, level=payload, message=payload),
            S(
                trace,
                "3",
                "chat x",
                parent="1",
                kind="client",
                service=payload,
                scope="obs.burr",
                attributes={
                    "gen_ai.operation.name": "chat",
                    "gen_ai.request.model": payload,
                    "burr.action": payload,
                },
            ),
        ]
    return write(path, spans)


def assert_nothing_ran(page: Any) -> None:
    assert page.evaluate("window.__pwned") is None
    # Not only "did not run" (the CSP would stop inline script anyway): no markup from the data
    # became elements at all.
    planted = page.evaluate(
        "document.querySelectorAll('main img, main script, main iframe, [onerror], [onload]')"
        ".length"
    )
    assert planted == 0
    hrefs = page.eval_on_selector_all("a[href]", "as => as.map(a => a.getAttribute('href'))")
    assert all(h.startswith("#/") for h in hrefs), hrefs
    assert page.errors == []


def test_planted_payloads_render_as_text_everywhere(page: Any, tmp_path: Path) -> None:
    store = hostile_store(tmp_path / "spans.db")
    violations: list[str] = []
    page.on(
        "console", lambda m: violations.append(m.text) if "Content Security" in m.text else None
    )
    with serve(store) as server:
        open_page(page, server.url + "#/live", "live")
        page.wait_for_selector("#trace-rows tr")
        text = page.text_content("#trace-rows")
        for payload in PAYLOADS:
            assert payload in text
        assert_nothing_ran(page)

        for i, payload in enumerate(PAYLOADS):
            open_page(page, server.url + "#/trace/" + f"bad{i}".ljust(32, "0"), "trace")
            page.click(".wf-row[data-span^='1']")
            detail = page.text_content("#span-detail")
            assert detail.count(payload) >= 5
            assert page.text_content(".wf-row.log .label").endswith(payload)
            # a link with a hostile trace id is shown as text, never as a link
            assert page.query_selector("a[data-link]") is None
            assert_nothing_ran(page)

        open_page(page, server.url + "#/explore", "explore")
        page.fill("#sql", "SELECT name, message, attributes FROM spans")
        page.click("#run")
        page.wait_for_selector("#result tbody tr")
        assert_nothing_ran(page)

        for board in ("http", "messaging", "llm", "burr"):
            open_page(page, server.url + f"#/dash/{board}?range=all", "dash")
            assert_nothing_ran(page)
        # the service names offered in the filter are text too
        options = page.eval_on_selector_all(
            "#dash-service option", "os => os.map(o => o.textContent)"
        )
        assert set(PAYLOADS) <= set(options)
    assert violations == []


def test_a_hostile_hash_route_does_nothing(page: Any, tmp_path: Path) -> None:
    store = hostile_store(tmp_path / "spans.db")
    with serve(store) as server:
        page.goto(server.url + "#/trace/<img src=x onerror=window.__pwned=7>")
        page.wait_for_selector("body[data-ready='trace']")
        assert "not a trace id" in page.text_content("main")
        page.goto(server.url + "#/explore?sql=<img src=x onerror=window.__pwned=8>")
        page.wait_for_selector("body[data-ready='explore']")
        assert_nothing_ran(page)
