"""obs ui on a big store: build N spans (2 million by default), then time the API and the pages.

    uv run python -m benchmarks.ui_big_store --spans 2000000 --db /tmp/obs-big.db

The store holds a week of helpdesk-shaped traffic (8 spans and a log per trace: an HTTP
request, a message sent and processed, a Burr run with two steps, an LLM call), written
through the store's own schema. Each API call is timed over several rounds (median and
max, wall clock, through the real HTTP server); each page is timed in headless Chromium
from navigation to the page saying it is ready (data drawn).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
import urllib.request
from pathlib import Path
from typing import Any

from obs._store import COLUMNS, connect
from obs_ui import UIServer

WEEK_NS = 7 * 24 * 3600 * 10**9
ROUTES = ["POST /tickets", "GET /tickets/{id}", "GET /health", "POST /feedback"]
MODELS = ["gpt-4o-mini", "gpt-4o", "gpt-4.1-mini"]
ACTIONS = ["triage", "draft_reply", "escalate"]
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def _iso(ns: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ns / 1e9)) + f".{ns % 10**9 // 1000:06d}"


def _trace(rng: random.Random, start: int) -> list[tuple[Any, ...]]:
    trace_id = f"{rng.getrandbits(128):032x}"
    ids = [f"{rng.getrandbits(64):016x}" for _ in range(9)]
    route = rng.choice(ROUTES)
    method, path = route.split(" ", 1)
    failed = rng.random() < 0.03
    model = rng.choice(MODELS)
    action = rng.choice(ACTIONS)
    dest = f"helpdesk:tickets:{rng.randrange(4)}"
    t = start
    spans: list[tuple[Any, ...]] = []

    def add(
        i: int,
        parent: int | None,
        name: str,
        kind: str,
        service: str,
        scope: str,
        offset_ms: float,
        ms: float,
        attrs: dict[str, Any],
        error: bool = False,
        log: str | None = None,
    ) -> None:
        s = t + int(offset_ms * 1e6)
        e = s + int(ms * 1e6)
        row = {
            "trace_id": trace_id,
            "span_id": ids[i],
            "parent_span_id": ids[parent] if parent is not None else None,
            "name": name,
            "kind": kind,
            "service_name": service,
            "scope": scope,
            "start_time": _iso(s),
            "end_time": _iso(e),
            "start_ns": s,
            "end_ns": e,
            "duration_ms": ms,
            "status": "error" if error else "unset",
            "status_message": "boom" if error else None,
            "is_log": 1 if log else 0,
            "level": "info" if log else None,
            "message": log,
            "attributes": json.dumps(attrs, separators=(",", ":")),
            "events": "[]",
            "links": "[]",
            "resource": json.dumps({"service.name": service}),
        }
        spans.append(tuple(row[c] for c in COLUMNS))

    api, worker = "helpdesk-api", "helpdesk-worker"
    total = rng.uniform(5, 400)
    add(
        0,
        None,
        route,
        "server",
        api,
        "obs.fastapi",
        0,
        total,
        {
            "http.route": path,
            "http.request.method": method,
            "http.response.status_code": 500 if failed and rng.random() < 0.5 else 200,
        },
    )
    add(
        1,
        0,
        f"send {dest}",
        "producer",
        api,
        "obs.faststream",
        1,
        0.6,
        {
            "messaging.destination.name": dest,
            "messaging.system": "redis",
            "messaging.operation.type": "send",
        },
    )
    add(
        2,
        1,
        f"process {dest}",
        "consumer",
        worker,
        "obs.faststream",
        3,
        total * 0.8,
        {
            "messaging.destination.name": dest,
            "messaging.system": "redis",
            "messaging.operation.type": "process",
        },
        failed,
    )
    add(
        3,
        2,
        f"run ticket-{ids[3][:12]}",
        "internal",
        worker,
        "obs.burr",
        4,
        total * 0.7,
        {"burr.app_id": f"ticket-{ids[3][:12]}"},
        failed,
    )
    add(
        4,
        3,
        f"step {action}",
        "internal",
        worker,
        "obs.burr",
        5,
        total * 0.3,
        {"burr.action": action},
        failed,
    )
    add(
        5,
        4,
        f"chat {model}",
        "client",
        worker,
        "obs.openai",
        6,
        total * 0.25,
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": model,
            "gen_ai.usage.input_tokens": rng.randrange(50, 3000),
            "gen_ai.usage.output_tokens": rng.randrange(10, 800),
            "gen_ai.usage.cache_read.input_tokens": rng.choice((0, 0, 1024)),
        },
    )
    add(
        6,
        3,
        "step draft_reply",
        "internal",
        worker,
        "obs.burr",
        5 + total * 0.3,
        total * 0.3,
        {"burr.action": "draft_reply"},
    )
    add(
        7,
        0,
        "ticket {ticket_id} from {customer}",
        "internal",
        api,
        "obs",
        0.5,
        0,
        {"obs.span_type": "log"},
        log=f"ticket {ids[7][:6]} from someone",
    )
    add(
        8,
        2,
        "answered",
        "internal",
        worker,
        "obs",
        3.5,
        0,
        {"obs.span_type": "log"},
        log="ticket answered",
    )
    return spans


def build(path: Path, spans: int, seed: int = 7) -> None:
    if path.exists():
        raise SystemExit(f"{path} exists; remove it or pick another --db")
    rng = random.Random(seed)
    conn = connect(path)
    conn.execute("PRAGMA synchronous = OFF")
    insert = f"INSERT INTO spans ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)})"
    now = time.time_ns()
    traces = spans // 9
    started = time.perf_counter()
    batch: list[tuple[Any, ...]] = []
    for i in range(traces):
        # oldest first, as a store fills: a week ending now
        batch.extend(_trace(rng, now - WEEK_NS + i * (WEEK_NS // traces)))
        if len(batch) >= 90_000:
            with conn:
                conn.executemany(insert, batch)
            batch.clear()
    with conn:
        conn.executemany(insert, batch)
    count = conn.execute("SELECT count(*) FROM spans").fetchone()[0]
    conn.close()
    size = path.stat().st_size / 1e6
    print(f"built {count} spans in {time.perf_counter() - started:.0f} s ({size:.0f} MB): {path}")


def _get(url: str) -> tuple[float, int]:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=120) as response:
        body = response.read()
    return (time.perf_counter() - started) * 1000, len(body)


def _newest(path: Path) -> int:
    conn = connect(path, create=False)
    try:
        return int(conn.execute("SELECT max(start_ns) FROM spans").fetchone()[0])
    finally:
        conn.close()


def measure(path: Path, rounds: int) -> None:
    server = UIServer(path, time_limit_s=60)
    server.start_in_thread()
    base = server.url.rstrip("/")
    now = time.time_ns()
    newest = _newest(path)
    if now - newest > 5 * 60 * 10**9:
        print(
            f"note: the store's newest span is {(now - newest) / 60e9:.0f} min old; "
            "the 'last 1 h' windows hold less than an hour of traffic (build it anew)"
        )
    hour = f"since={now - 3600 * 10**9}&until={now}"
    day = f"since={now - 24 * 3600 * 10**9}&until={now}"
    calls = {
        "trace list (newest 50)": "/api/traces?limit=50",
        "trace list, errors only": "/api/traces?limit=50&status=error",
        "trace list, service=helpdesk-worker": "/api/traces?limit=50&service=helpdesk-worker",
        "trace list, attr burr.action=escalate": "/api/traces?limit=50&attr=burr.action%3Descalate",
        "live update (since cursor)": "/api/traces?limit=100&after={cursor}",
        "one trace": "/api/trace/{trace}",
        "dashboard HTTP, last 1 h": f"/api/dashboard/http?{hour}",
        "dashboard messaging, last 1 h": f"/api/dashboard/messaging?{hour}",
        "dashboard LLM (+cost roll-ups), last 1 h": f"/api/dashboard/llm?{hour}",
        "dashboard Burr, last 1 h": f"/api/dashboard/burr?{hour}",
        "dashboard HTTP, last 24 h": f"/api/dashboard/http?{day}",
        "dashboard LLM (+cost roll-ups), last 24 h": f"/api/dashboard/llm?{day}",
    }
    with urllib.request.urlopen(base + "/api/traces?limit=1", timeout=60) as response:
        first = json.loads(response.read())
    cursor, trace = first["cursor"] - 20, first["traces"][0]["trace_id"]
    print(f"\nAPI on {path} (median / max of {rounds} rounds, ms):")
    for label, url in calls.items():
        url = url.format(cursor=cursor, trace=trace)
        times = [_get(base + url)[0] for _ in range(rounds)]
        print(f"  {label:<44} {statistics.median(times):8.1f} {max(times):8.1f}")

    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover
        print("playwright missing: page loads not measured")
        return
    print(f"\nPages in headless Chromium (navigation to data drawn; median / max of {rounds}, ms):")
    pages = {
        "Live (trace list)": ("#/live", "live"),
        "Trace (waterfall)": (f"#/trace/{trace}", "trace"),
        "Dashboard HTTP (1 h)": ("#/dash/http?range=1h", "dash"),
        "Dashboard LLM (1 h)": ("#/dash/llm?range=1h", "dash"),
        "Dashboard Burr (24 h)": ("#/dash/burr?range=24h", "dash"),
    }
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        page = browser.new_page()
        for label, (fragment, ready) in pages.items():
            times = []
            for _ in range(rounds):
                page.goto("about:blank")
                started = time.perf_counter()
                page.goto(server.url + fragment)
                page.wait_for_selector(f"body[data-ready='{ready}']", timeout=120_000)
                times.append((time.perf_counter() - started) * 1000)
            print(f"  {label:<44} {statistics.median(times):8.1f} {max(times):8.1f}")
        browser.close()
    server.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, default=Path("/tmp/obs-ui-big.db"))
    parser.add_argument("--spans", type=int, default=2_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--reuse", action="store_true", help="measure an existing store")
    parser.add_argument(
        "--kind-index",
        action="store_true",
        help="first add an index on (kind, start_ns), to measure what it would give",
    )
    args = parser.parse_args()
    if not (args.reuse and args.db.exists()):
        build(args.db, args.spans)
    if args.kind_index:
        conn = connect(args.db)
        started = time.perf_counter()
        conn.execute("CREATE INDEX IF NOT EXISTS spans_kind_start ON spans (kind, start_ns)")
        conn.close()
        print(f"index on (kind, start_ns) in {time.perf_counter() - started:.0f} s")
    measure(args.db, args.rounds)


if __name__ == "__main__":
    main()
