"""The helpdesk example (API and worker processes on real Redis) seen through the UI."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require_service
from tests.ui.conftest import open_page, serve

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def example_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_service("redis")
    store = tmp_path_factory.mktemp("helpdesk") / "spans.db"
    env = {
        **os.environ,
        "OBS_STORE_PATH": str(store),
        "OBS_STORE_METRICS_INTERVAL_S": "1",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    done = subprocess.run(
        [sys.executable, "-m", "examples.helpdesk"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "obs ui" in done.stdout  # the example's closing lines point to the UI
    return store


def test_the_examples_failing_trace_as_a_waterfall(page: Any, example_store: Path) -> None:
    conn = sqlite3.connect(example_store)
    (trace_id,) = conn.execute(
        "SELECT trace_id FROM spans WHERE status = 'error' ORDER BY start_ns DESC LIMIT 1"
    ).fetchone()
    stored = {
        span_id: (parent, name)
        for span_id, parent, name in conn.execute(
            "SELECT span_id, parent_span_id, coalesce(message, name) FROM spans "
            "WHERE trace_id = ? AND is_log = 0",
            (trace_id,),
        )
    }
    conn.close()
    with serve(example_store) as server:
        open_page(page, server.url + "#/live", "live")
        page.click(f"tr[data-trace='{trace_id}'] a")
        page.wait_for_selector("body[data-ready='trace']")
        rows = page.eval_on_selector_all(
            ".wf-row:not(.log)",
            "rows => rows.map(r => [r.dataset.span, r.dataset.parent, Number(r.dataset.depth),"
            " r.querySelector('.label').textContent, r.dataset.service])",
        )
    # every stored span is drawn once, under its stored parent, one level deeper
    assert {r[0] for r in rows} == set(stored)
    depth = {r[0]: r[2] for r in rows}
    for span_id, parent, _, label, _ in rows:
        assert parent == (stored[span_id][0] or "")
        assert label == stored[span_id][1]
        assert depth[span_id] == (depth[parent] + 1 if parent else 0)
    # one tree across the two processes and the broker
    assert next(r for r in rows if r[2] == 0)[3] == "POST /tickets"
    assert {"helpdesk-api", "helpdesk-worker"} <= {r[4] for r in rows}
    names = [r[3] for r in rows]
    assert any(n.startswith("send ") for n in names)
    assert any(n.startswith("process ") for n in names)
    assert "step triage" in names


def test_the_examples_metrics_are_in_the_store(page: Any, example_store: Path) -> None:
    with serve(example_store) as server:
        open_page(page, server.url + "#/dash/metrics?range=1h", "dash")
        names = page.eval_on_selector_all(
            "[data-panel='instruments'] td[data-col='name']", "tds => tds.map(t => t.textContent)"
        )
        assert "messaging.client.sent.messages" in names
        assert any(n.startswith("gen_ai.client.") for n in names)
        sent = page.eval_on_selector(
            "[data-panel='instruments'] tr:has(td[data-col='name']:text-is("
            "'messaging.client.sent.messages')) td[data-col='total']",
            "td => td.textContent",
        )
        assert float(sent) == 3  # three tickets sent
        page.click("td[data-col='name']:text-is('messaging.client.sent.messages')")
        page.wait_for_selector("[data-panel='metric_series'] svg")
        points = page.eval_on_selector_all(
            "[data-panel='metric_series'] circle", "cs => cs.map(c => Number(c.dataset.y))"
        )
        assert sum(points) == 3
