"""Screenshots of each page of ``obs ui`` for the README, by the headless Chromium the tests use.

uv run python -m examples.helpdesk && uv run python docs/ui/take_screenshots.py .obs/spans.db
(names after the store take only those pages: ``... .obs/spans.db alerts``)
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

from obs_ui import UIServer

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
HERE = Path(__file__).parent
PAGES = {
    "live": ("#/live", "live", None),
    "trace": ("#/trace/{trace}", "trace", ".wf-row.error >> nth=-1"),
    "explore": ("#/explore?run=1", "explore", None),
    "dash-http": ("#/dash/http?range=15m", "dash", None),
    "dash-messaging": ("#/dash/messaging?range=15m", "dash", None),
    "dash-llm": ("#/dash/llm?range=15m", "dash", None),
    "dash-burr": ("#/dash/burr?range=15m", "dash", None),
    "dash-metrics": (
        "#/dash/metrics?range=15m&metric=messaging.client.sent.messages",
        "dash",
        None,
    ),
    # Shows rules once an evaluator has run over the store, e.g.
    # uv run obs alerts run --once --file rules.toml (rules: see the README's "Alerts")
    "alerts": ("#/alerts", "alerts", None),
}


def main(store: Path, only: set[str] | None = None) -> None:
    server = UIServer(store)
    server.start_in_thread()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 720})
        page.goto(server.url + "#/live")
        page.wait_for_selector("body[data-ready='live']")
        trace = page.get_attribute("tr.error[data-trace]", "data-trace") or page.get_attribute(
            "tr[data-trace]", "data-trace"
        )
        for name, (fragment, ready, click) in PAGES.items():
            if only and name not in only:
                continue
            page.goto(server.url + fragment.format(trace=trace))
            page.wait_for_selector(f"body[data-ready='{ready}']")
            if name == "explore":
                page.wait_for_selector("#chart svg")
            if click:
                page.click(click)
            page.wait_for_timeout(300)
            page.screenshot(path=str(HERE / f"{name}.png"))
            print(HERE / f"{name}.png")
        browser.close()
    server.shutdown()


if __name__ == "__main__":
    main(Path(sys.argv[1]), set(sys.argv[2:]) or None)
