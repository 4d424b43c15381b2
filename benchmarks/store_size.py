"""The local store at size: query times at millions of spans, the size cap on disk, and many
writers at once.

    uv run python -m benchmarks.store_size build --spans 2000000 --db /tmp/big.db   # ~2-4 min
    uv run python -m benchmarks.store_size queries --db /tmp/big.db
    uv run python -m benchmarks.store_size soak --spans 200000 --cap-mb 5
    uv run python -m benchmarks.store_size load --procs 8 --rate 1000 --seconds 30

``build`` writes traces of five spans (a server span, two internal ones, a client call in one
service and a consumer in another, 5 % failing) through the store's own write path
(``write_rows``: rows and trace summaries in one transaction per batch), spread over the last
six days, so the last hour holds a realistic share. ``queries`` times, in process (median of
repeated runs) and as the real command (the venv's ``obs`` script, median wall clock, Python
start-up included; a bare interpreter's start-up is printed under them): ``obs traces``,
``obs traces --service``, ``obs trace ID`` and the README's per-route p50/p95 query over the
last hour. ``soak`` exports real SDK spans in batches through ``StoreExporter`` with a small
cap, sampling file + WAL size from another thread all along. ``load`` runs N processes, each
configured with ``obs.configure(store=...)`` writing spans at a fixed rate, while this process
runs ``obs traces`` and ``obs query`` in a loop; then every span must be in the store or
counted as dropped, by reason, and no error may have reached a writer.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from obs._cli._query import EXAMPLE_QUERY

ROOT = Path(__file__).resolve().parents[1]
OBS = str(Path(sys.executable).parent / "obs")
ROUTES = [f"/api/v1/resource{i}/{{id}}" for i in range(20)]
SERVICES = ["api", "worker"]


def _synthetic_trace(rng: random.Random, start: int) -> list[tuple[Any, ...]]:
    from obs._store import COLUMNS

    trace_id = f"{rng.getrandbits(128):032x}"
    route = rng.choice(ROUTES)
    service = rng.choice(SERVICES)
    failed = rng.random() < 0.05
    total = int(rng.lognormvariate(2.5, 0.8) * 1e6)
    ids = [f"{rng.getrandbits(64):016x}" for _ in range(5)]
    shape = [
        (None, f"GET {route}", "server", service, 0, total),
        (ids[0], "load user", "internal", service, total // 10, total // 5),
        (ids[0], "render", "internal", service, total // 3, total // 3),
        (ids[0], "chat gpt-4o-mini", "client", service, total // 2, total // 3),
        (ids[3], "process jobs", "consumer", "worker-b", total // 2 + 1000, total // 4),
    ]
    rows = []
    for i, (parent, name, kind, svc, offset, length) in enumerate(shape):
        s, e = start + offset, start + offset + length
        error = failed and i == 3
        attrs = (
            f'{{"http.route":"{route}","http.request.method":"GET","url.path":"/x/{i}",'
            f'"http.response.status_code":{500 if failed else 200}}}'
            if kind == "server"
            else f'{{"step":{i},"error.type":"{"TimeoutError" if error else ""}"}}'
        )
        row = {
            "trace_id": trace_id,
            "span_id": ids[i],
            "parent_span_id": parent,
            "name": name,
            "kind": kind,
            "service_name": svc,
            "scope": "bench",
            "start_time": "",
            "end_time": "",
            "start_ns": s,
            "end_ns": e,
            "duration_ms": (e - s) / 1e6,
            "status": "error" if error or (failed and i == 0) else "unset",
            "status_message": None,
            "is_log": 0,
            "level": None,
            "message": None,
            "attributes": attrs,
            "events": "[]",
            "links": "[]",
            "resource": f'{{"service.name":"{svc}"}}',
        }
        rows.append(tuple(row[c] for c in COLUMNS))
    return rows


def build(db: Path, spans: int) -> None:
    from obs._store import StoreExporter, write_rows

    rng = random.Random(7)
    exporter = StoreExporter(db, max_size_mb=100_000)  # no pruning while building
    conn = exporter._connection()
    now = time.time_ns()
    span_ns = 6 * 24 * 3600 * 10**9
    traces = spans // 5
    started = time.perf_counter()
    batch: list[tuple[Any, ...]] = []
    for i in range(traces):
        start = now - span_ns + span_ns * i // traces
        batch.extend(_synthetic_trace(rng, start))
        if len(batch) >= 5000:
            write_rows(conn, batch)
            batch = []
    if batch:
        write_rows(conn, batch)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    took = time.perf_counter() - started
    exporter.shutdown()
    print(
        f"built {traces * 5:,} spans in {took:.0f} s ({traces * 5 / took:,.0f} spans/s); "
        f"{db.stat().st_size / 1e6:.0f} MB"
    )


#: The README's per-route percentile query, exactly as ``obs`` shows it.
PERCENTILE_QUERY = EXAMPLE_QUERY


def _median_ms(call: Callable[[], Any], rounds: int = 7) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _wall_ms(*args: str, rounds: int = 5) -> float:
    """Median wall clock of the venv's ``obs`` script (not ``uv run``, which adds its own)."""
    return _median_ms(lambda: subprocess.run([OBS, *args], check=True, capture_output=True), rounds)


def _interpreter_ms(rounds: int = 5) -> float:
    """The floor under every command: this Python starting and exiting, nothing imported."""
    return _median_ms(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), rounds)


def queries(db: Path) -> None:
    from obs._store import open_read_only, recent_traces, trace_spans

    conn = open_read_only(db)
    count = conn.execute("SELECT count(*) FROM spans").fetchone()[0]
    some = recent_traces(conn, limit=50)[-1].trace_id
    print(f"{count:,} spans in {db} ({db.stat().st_size / 1e6:.0f} MB)")
    rows = [
        ("obs traces", lambda: recent_traces(conn, limit=20), ("traces", "--db", str(db))),
        (
            "obs traces --service worker",
            lambda: recent_traces(conn, limit=20, service="worker"),
            ("traces", "--db", str(db), "--service", "worker"),
        ),
        (
            "obs trace ID (8-digit prefix)",
            lambda: trace_spans(conn, some[:8]),
            ("trace", "--db", str(db), some[:8]),
        ),
        (
            "per-route p50/p95, last hour",
            lambda: conn.execute(PERCENTILE_QUERY).fetchall(),
            ("query", "--db", str(db), PERCENTILE_QUERY),
        ),
    ]
    print(f"{'query':<34} {'in process (median)':>20} {'command, wall':>15}")
    for label, call, args in rows:
        print(f"{label:<34} {_median_ms(call):>17.1f} ms {_wall_ms(*args):>12.0f} ms")
    print(f"{'(python -c pass, for reference)':<34} {'':>20} {_interpreter_ms():>12.0f} ms")


def soak(spans: int, cap_mb: float, batch: int) -> None:
    import tempfile

    from opentelemetry.sdk.trace import TracerProvider

    from obs._store import StoreExporter

    db = Path(tempfile.mkdtemp()) / "soak.db"
    exporter = StoreExporter(db, max_size_mb=cap_mb)
    tracer = TracerProvider().get_tracer("soak")
    peak = [0]
    stop = threading.Event()

    def sample() -> None:
        wal = db.with_name(db.name + "-wal")
        while not stop.is_set():
            size = 0
            for p in (db, wal):
                with contextlib.suppress(OSError):
                    size += p.stat().st_size
            peak[0] = max(peak[0], size)
            time.sleep(0.002)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    written = 0
    while written < spans:
        group = []
        for i in range(batch):
            with tracer.start_as_current_span(
                "process orders", attributes={"messaging.message.id": f"m{written + i}", "n": i}
            ) as parent:
                child = tracer.start_span("step", attributes={"payload": "x" * 200})
                child.end()
            group.extend([child, parent])
        exporter.export(group)  # type: ignore[arg-type]
        written += len(group)
    stop.set()
    sampler.join()
    took = time.perf_counter() - started
    cap = cap_mb * 1024 * 1024
    kept = exporter._connection().execute("SELECT count(*) FROM spans").fetchone()[0]
    print(
        f"{written:,} spans in {took:.0f} s, cap {cap_mb:g} MB: peak file + WAL "
        f"{peak[0] / 1024 / 1024:.2f} MB ({peak[0] / cap:.0%} of the cap); {kept:,} spans kept; "
        f"failed {exporter.failed}"
    )


_WRITER = """
import json, sys, time, obs
from opentelemetry import trace
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
db, rate, seconds, name = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
reader = InMemoryMetricReader()
obs.configure(store=False if db == "off" else db, console=False, otlp=False, service_name=name,
              metric_readers=[reader])
start = time.monotonic(); n = 0; app_errors = []; produce_cpu = 0.0; cpu0 = time.process_time()
while time.monotonic() - start < seconds:
    target = int((time.monotonic() - start) * rate)
    t0 = time.thread_time()
    while n < target:
        try:
            with obs.span("work {n}", n=n):
                pass
        except Exception as exc:  # an error reaching the app: what must never happen
            app_errors.append(repr(exc)[:200])
        n += 1
    produce_cpu += time.thread_time() - t0
    time.sleep(0.005)
flushed = obs.force_flush()
dropped = {}
data = reader.get_metrics_data()
for rm in data.resource_metrics if data is not None else ():
    for sm in rm.scope_metrics:
        for metric in sm.metrics:
            if metric.name == "obs.export.dropped_spans":
                for point in metric.data.data_points:
                    reason = str(point.attributes.get("reason"))
                    dropped[reason] = dropped.get(reason, 0) + int(point.value)
stats = {}
for processor in trace.get_tracer_provider().delegate._active_span_processor._span_processors:
    for inner in getattr(processor, "processors", ()):
        exporter = getattr(getattr(inner, "_exporter_ref", None), "inner", None)
        if exporter is not None and hasattr(exporter, "lock_waits"):
            stats = {"written": exporter.written, "lock_waits": exporter.lock_waits, "lock_wait_s": exporter.lock_wait_s,
                     "checkpoints": exporter.pruner.checkpoints,
                     "checkpoints_deferred": exporter.pruner.checkpoints_deferred,
                     "pruned": exporter.pruner.pruned_rows, "wal_peak": exporter.pruner.wal_peak,
                     "failure_reason": exporter.failure_reason}
print(json.dumps({"produced": n, "flushed": flushed, "dropped": dropped,
                  "app_errors": app_errors, "produce_us": produce_cpu / max(n, 1) * 1e6,
                  "process_cpu_us": (time.process_time() - cpu0) / max(n, 1) * 1e6, **stats}),
      flush=True)
"""


def load(
    procs: int,
    rate: int,
    seconds: float,
    db: Path | None = None,
    store: bool = True,
    cap_mb: float | None = None,
) -> dict[str, Any]:
    """N writer processes at ``rate`` spans/s each, this process reading in a loop meanwhile.

    ``store=False``: the same processes with the store off (and no reads), to tell what
    producing the spans costs from what storing them does. ``cap_mb``: the store's size cap
    (its default holds about 250,000 of these spans, so a long run at a high rate prunes the
    oldest; what the cap deletes is shown as pruned).

    Per process: produced, stored, dropped (by reason, from ``obs.export.dropped_spans``), and
    what is neither stored nor counted (must be 0); errors that reached the app (exceptions
    from ``obs.span``, "locked" on stderr); the main thread's CPU per span produced, and the
    whole process's (export thread included).
    """
    import json
    import sqlite3
    import tempfile

    db = db or Path(tempfile.mkdtemp()) / "load.db"
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    env = dict(os.environ)
    if cap_mb is not None:
        env["OBS_STORE_MAX_SIZE_MB"] = str(cap_mb)
    writers = [
        subprocess.Popen(
            [
                sys.executable,
                *("-c", _WRITER, str(db) if store else "off"),
                *(str(rate), str(seconds), f"w{i}"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for i in range(procs)
    ]
    reads = 0
    read_errors: list[str] = []
    while store and any(w.poll() is None for w in writers):
        for args in (
            ("traces", "--db", str(db)),
            ("query", "--db", str(db), "SELECT service_name, count(*) FROM spans GROUP BY 1"),
        ):
            result = subprocess.run([OBS, *args], capture_output=True, text=True)
            reads += 1
            if result.returncode != 0 and "no span store" not in result.stderr:
                read_errors.append(result.stderr.strip())
    per_process: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    for i, w in enumerate(writers):
        out, err = w.communicate()
        name = f"w{i}"
        try:
            stats = json.loads(out.strip().splitlines()[-1])
        except (IndexError, ValueError):
            problems.append(f"{name}: rc={w.returncode} no report: {err.strip()[:300]}")
            continue
        stats["lock_errors"] = len(stats.pop("app_errors")) + err.count("locked")
        per_process[name] = stats
        if not stats["flushed"] or w.returncode != 0 or "obs:" in err or stats["lock_errors"]:
            problems.append(
                f"{name}: rc={w.returncode} flushed={stats['flushed']} {err.strip()[-700:]}"
            )
    took = time.monotonic() - started
    stored: dict[str, int] = {}
    if store:
        conn = sqlite3.connect(db)
        stored = dict(conn.execute("SELECT service_name, count(*) FROM spans GROUP BY 1"))
        conn.close()
    for name, stats in per_process.items():
        stats["stored"] = stored.get(name, 0)
        lost = stats["produced"] - stats["stored"] - sum(stats["dropped"].values())
        stats["uncounted"] = lost if store else 0
    dropped: dict[str, int] = {}
    for stats in per_process.values():
        for reason, count in stats["dropped"].items():
            dropped[reason] = dropped.get(reason, 0) + count
    produced = sum(s["produced"] for s in per_process.values())
    # A process's pruner deletes the oldest spans whoever wrote them: counted in total only.
    pruned = sum(s.get("pruned", 0) for s in per_process.values())
    return {
        "produced": produced,
        "stored": sum(stored.values()),
        "dropped": dropped,
        "pruned": pruned,
        "uncounted": sum(s["uncounted"] for s in per_process.values()) - pruned,
        "lock_errors": sum(s["lock_errors"] for s in per_process.values()),
        "missing": {
            name: s["produced"] - s["stored"]
            for name, s in per_process.items()
            if s["produced"] != s["stored"]
        },
        "writer_problems": problems,
        "reads": reads,
        "read_errors": read_errors[:5],
        "per_process": per_process,
        "wall_s": took,
        "load_average": (load_before, os.getloadavg()[0]),
    }


def _print_load(report: dict[str, Any]) -> None:
    print(
        f"{'process':<8} {'produced':>9} {'written':>9} {'stored':>9} {'dropped':>20} "
        f"{'uncounted':>9} {'lock err':>8} {'produce':>10} {'process':>10} {'lock waits':>16}"
    )
    for name, s in report["per_process"].items():
        dropped = ", ".join(f"{k} {v}" for k, v in s["dropped"].items()) or "0"
        waits = f"{s.get('lock_waits', 0)} / {s.get('lock_wait_s', 0):.1f} s"
        print(
            f"{name:<8} {s['produced']:>9,} {s.get('written', 0):>9,} {s['stored']:>9,} "
            f"{dropped:>20} {s['uncounted']:>9,} "
            f"{s['lock_errors']:>8} {s['produce_us']:>7.1f} us {s['process_cpu_us']:>7.1f} us "
            f"{waits:>16}"
        )
    dropped = ", ".join(f"{k} {v:,}" for k, v in report["dropped"].items()) or "0"
    written = sum(s.get("written", 0) for s in report["per_process"].values())
    print(
        f"{'total':<8} {report['produced']:>9,} {written:>9,} {report['stored']:>9,} "
        f"{dropped:>20} {report['uncounted']:>9,} {report['lock_errors']:>8}"
    )
    if report["pruned"]:
        print(f"pruned by the size cap: {report['pruned']:,} (in total; uncounted net of it)")
    print(
        "(written: what the store exporter committed; produce: the app thread's CPU per span; "
        "process: the whole process's, export thread included)"
    )
    before, after = report["load_average"]
    print(
        f"wall {report['wall_s']:.0f} s; {report['reads']} reads, errors "
        f"{report['read_errors'] or 'none'}; writer problems {report['writer_problems'] or 'none'}; "
        f"load average {before:.1f} before, {after:.1f} after"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("build")
    p.add_argument("--spans", type=int, default=2_000_000)
    p.add_argument("--db", type=Path, required=True)
    p = commands.add_parser("queries")
    p.add_argument("--db", type=Path, required=True)
    p = commands.add_parser("soak")
    p.add_argument("--spans", type=int, default=200_000)
    p.add_argument("--cap-mb", type=float, default=5.0)
    p.add_argument("--batch", type=int, default=256, help="span pairs per export (x2 spans)")
    p = commands.add_parser("load")
    p.add_argument("--procs", type=int, default=8)
    p.add_argument("--rate", type=int, default=1000)
    p.add_argument("--seconds", type=float, default=30)
    p.add_argument("--store-off", action="store_true", help="the same writers, store off")
    p.add_argument("--cap-mb", type=float, default=None, help="store_max_size_mb (default 256)")
    args = parser.parse_args(argv)
    if args.command == "build":
        build(args.db, args.spans)
    elif args.command == "queries":
        queries(args.db)
    elif args.command == "soak":
        soak(args.spans, args.cap_mb, args.batch)
    else:
        report = load(
            args.procs, args.rate, args.seconds, store=not args.store_off, cap_mb=args.cap_mb
        )
        _print_load(report)


if __name__ == "__main__":
    os.environ.setdefault("OBS_CONSOLE", "false")
    main()
