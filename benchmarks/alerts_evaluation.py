"""What one alert evaluation costs the evaluating process, over a busy store.

    uv run python -m benchmarks.alerts_evaluation                # 100,000 spans in the window
    uv run python -m benchmarks.alerts_evaluation --spans 20000 --rounds 5

Fills a fresh store with HTTP server spans spread over the last 60 s (20 routes, 2 % errors),
then times ``Evaluator.evaluate_once`` for the seed's two rules (error rate over 60 s, p95
latency over 300 s), alone and grouped by route: wall time and the evaluating thread's CPU
time (the queries run in SQLite's C code on that thread, with the GIL released).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from obs._alerts import load_config
from obs._alerts.evaluator import Evaluator
from obs._store import connect

S = 1_000_000_000


def fill(path: Path, spans: int, now: int) -> None:
    conn = connect(path)
    rows = []
    for i in range(spans):
        at = now - int(i * 60 * S / spans)
        route = f"/r{i % 20}"
        attributes = {
            "http.route": route,
            "http.request.method": "GET",
            "http.response.status_code": 500 if i % 50 == 0 else 200,
            "url.path": f"{route}/{i}",
        }
        rows.append(
            (
                f"{i:032x}",
                f"{i:016x}",
                f"GET {route}",
                at,
                at + 5 * 1_000_000,
                5.0 + i % 100,
                "error" if i % 50 == 0 else "ok",
                json.dumps(attributes),
            )
        )
    with conn:
        conn.executemany(
            "INSERT INTO spans (trace_id, span_id, name, kind, service_name, start_time, "
            "end_time, start_ns, end_ns, duration_ms, status, attributes) "
            "VALUES (?, ?, ?, 'server', 'api', '', '', ?, ?, ?, ?, ?)",
            rows,
        )
    conn.close()


def measure(path: Path, rules: list[dict[str, Any]], now: int, rounds: int) -> tuple[float, float]:
    config = load_config({"rules": rules, "query_timeout": 60})
    assert config is not None
    evaluator = Evaluator(config, path)
    wall, cpu = [], []
    try:
        evaluator.evaluate_once(now)  # warm the page cache
        for _ in range(rounds):
            started, started_cpu = time.perf_counter(), time.thread_time()
            evaluator.evaluate_once(now)
            wall.append(time.perf_counter() - started)
            cpu.append(time.thread_time() - started_cpu)
    finally:
        evaluator.stop()
    return statistics.median(wall) * 1000, statistics.median(cpu) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spans", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    path = Path(tempfile.mkdtemp()) / "spans.db"
    now = time.time_ns()
    fill(path, args.spans, now)
    seed = [
        {"name": "High error rate", "condition": "error_rate > 5%", "window": "60s"},
        {"name": "Slow", "condition": "p95_latency > 1s", "window": 300},
    ]
    cases = {
        "seed rules": seed,
        "seed rules, group_by route": [{**rule, "group_by": "route"} for rule in seed],
    }
    print(f"{args.spans:,} server spans in the window; median of {args.rounds} evaluations")
    for label, rules in cases.items():
        wall, cpu = measure(path, rules, now, args.rounds)
        print(f"  {label:<28} {wall:8.0f} ms wall {cpu:8.0f} ms CPU")


if __name__ == "__main__":
    main()
