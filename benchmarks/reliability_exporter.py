"""A dead or slow OTLP endpoint, seen from the instrumented app: latency, memory, drops.

    uv run python -m benchmarks.reliability_exporter             # about 1.5 minutes
    uv run python -m benchmarks.reliability_exporter --rounds 4 --requests 300

One uvicorn process per case serves the instrumented FastAPI app
(``benchmarks.reliability_app``, ``GET /fast``: a server span, a child span, a log), all
started together, each exporting over OTLP/HTTP to its own endpoint:

- ``healthy``: a local receiver answering 200;
- ``refused``: nothing listens on the port;
- ``timeout``: a receiver that answers after 30 s (the exporter gives up after its 10 s);
- ``500`` and ``429``: a receiver answering that status.

The client (httpx, a few requests in flight) measures each request's latency; cases are
measured round-robin in every round (first round discarded as warm-up), so a machine busy
with something else slows all cases alike. Per case: p50/p99 and their ratio to the healthy
case, the server's RSS over the run (the batch queue is bounded: 2,048 spans), the
``obs.export.dropped_spans`` metric by reason read in the server process, how many times obs
logged that the export is failing, and whether spans flow again once the endpoint recovers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from benchmarks.reliability_load import free_port, rss_mb, start_server
from obs.testing.otlp import OTLPReceiver

SLOW_S = 30.0


@dataclass
class Case:
    name: str
    receiver: OTLPReceiver | None
    port: int
    log: Path
    latencies_ms: list[float] = field(default_factory=list)
    #: each measured round's latencies, for a p99 that one disturbed round cannot move much
    rounds_ms: list[list[float]] = field(default_factory=list)
    memory_mb: list[float] = field(default_factory=list)
    proc: subprocess.Popen[str] | None = None
    base: str = ""

    def percentile(self, p: float) -> float:
        return _percentile(self.latencies_ms, p)

    def round_p99(self) -> float:
        """The median over rounds of each round's p99."""
        return statistics.median(_percentile(r, 99) for r in self.rounds_ms)


def _percentile(values: list[float], p: float) -> float:
    data = sorted(values)
    return data[min(len(data) - 1, round(p / 100 * (len(data) - 1)))]


def make_cases(workdir: Path) -> list[Case]:
    cases = []
    for name, status, delay in (
        ("healthy", 200, 0.0),
        ("refused", None, 0.0),
        ("timeout", 200, SLOW_S),
        ("500", 500, 0.0),
        ("429", 429, 0.0),
    ):
        if status is None:
            receiver, port = None, free_port()
        else:
            receiver = OTLPReceiver(status=status, delay=delay).start()
            port = receiver.port
        cases.append(Case(name, receiver, port, workdir / f"{name}.log"))
    return cases


async def measure(case: Case, requests: int, concurrency: int, record: bool) -> None:
    if record:
        case.rounds_ms.append([])
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=case.base, limits=limits, timeout=30) as client:
        remaining = requests

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                started = time.perf_counter()
                response = await client.get("/fast")
                elapsed = (time.perf_counter() - started) * 1000
                response.raise_for_status()
                if record:
                    case.latencies_ms.append(elapsed)
                    case.rounds_ms[-1].append(elapsed)

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def recovered(cases: list[Case], wait_s: float) -> dict[str, str]:
    """Let every failing endpoint recover, send a few requests, wait for spans to arrive."""
    for case in cases:
        if case.receiver is None:  # now something listens on the refused port
            case.receiver = OTLPReceiver(port=case.port).start()
        else:
            case.receiver.status, case.receiver.delay = 200, 0.0
        case.receiver.requests.clear()
    for case in cases:
        for _ in range(3):
            httpx.get(f"{case.base}/fast", timeout=10).raise_for_status()
    deadline = time.monotonic() + wait_s
    pending = {c.name for c in cases}
    while pending and time.monotonic() < deadline:
        for case in cases:
            if case.name in pending and case.receiver is not None and case.receiver.spans():
                pending.discard(case.name)
        time.sleep(0.2)
    return {c.name: "no" if c.name in pending else "yes" for c in cases}


def stop_all(cases: list[Case]) -> dict[str, float]:
    """SIGTERM every server at once; seconds until each exited."""
    started = time.monotonic()
    for case in cases:
        if case.proc is not None and case.proc.poll() is None:
            case.proc.send_signal(signal.SIGTERM)
    took: dict[str, float] = {}
    running = [c for c in cases if c.proc is not None]
    while running:
        for case in list(running):
            assert case.proc is not None
            if case.proc.poll() is not None:
                took[case.name] = time.monotonic() - started
                running.remove(case)
            elif time.monotonic() - started > 60:
                case.proc.kill()
        time.sleep(0.02)
    return took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=11, help="the first is a warm-up")
    parser.add_argument("--requests", type=int, default=400, help="per case per round")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--logs", type=Path, help="keep the servers' logs in this directory")
    args = parser.parse_args()
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.2f}; {args.rounds - 1} rounds x {args.requests} requests per "
        f"case, {args.concurrency} in flight"
    )
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.logs or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        cases = make_cases(workdir)
        try:
            for case in cases:
                case.proc, case.base = start_server(f"http://127.0.0.1:{case.port}", case.log)
                case.memory_mb.append(rss_mb(case.proc.pid))
            started = time.perf_counter()
            for round_ in range(args.rounds):
                order = cases[:]
                random.shuffle(order)
                for case in order:
                    asyncio.run(measure(case, args.requests, args.concurrency, round_ > 0))
                    case.memory_mb.append(rss_mb(case.proc.pid))
            elapsed = time.perf_counter() - started
            dropped = {c.name: httpx.get(f"{c.base}/obs/dropped", timeout=10).json() for c in cases}
            reported = {
                c.name: c.log.read_text(errors="replace").count("is failing") for c in cases
            }
            back = recovered(cases, wait_s=40)
            # the endpoints fail again for the stop: how long does a graceful stop take?
            for case in cases:
                if case.receiver is not None and case.name != "healthy":
                    case.receiver.status = {"500": 500, "429": 429}.get(case.name, 200)
                    case.receiver.delay = SLOW_S if case.name == "timeout" else 0.0
                    if case.name == "refused":
                        case.receiver.stop()
                        case.receiver = None
                for _ in range(200):
                    httpx.get(f"{case.base}/fast", timeout=10)
            stops = stop_all(cases)
        finally:
            stop_all(cases)
            for case in cases:
                if case.receiver is not None:
                    case.receiver.stop()

    healthy = cases[0]
    print(f"measured in {elapsed:.0f} s\n")
    print(
        f"{'endpoint':<9} {'requests':>8} {'p50 ms':>7} {'p99 ms':>7} {'p50 ×':>6} {'p99 ×':>6} "
        f"{'p99r ms':>7} {'p99r ×':>6} "
        f"{'RSS MB start/peak/end':>22} {'dropped: failed/queue full':>27} "
        f"{'said':>5} {'recovers':>8} {'stop s':>6}"
    )
    for case in cases:
        p50, p99 = case.percentile(50), case.percentile(99)
        memory = f"{case.memory_mb[0]:.0f}/{max(case.memory_mb):.0f}/{case.memory_mb[-1]:.0f}"
        drops = dropped[case.name]
        print(
            f"{case.name:<9} {len(case.latencies_ms):>8} {p50:>7.2f} {p99:>7.2f} "
            f"{p50 / healthy.percentile(50):>6.2f} {p99 / healthy.percentile(99):>6.2f} "
            f"{case.round_p99():>7.2f} {case.round_p99() / healthy.round_p99():>6.2f} "
            f"{memory:>22} "
            f"{drops.get('export_failed', 0):>13}/{drops.get('queue_full', 0):<13} "
            f"{reported[case.name]:>5} {back[case.name]:>8} {stops[case.name]:>6.1f}"
        )
    print(
        "\np50 × / p99 ×: the case's latency over the healthy case's. p99r: the median of the "
        "rounds' p99 (one disturbed round moves it less). said: how many times the "
        "server logged 'span export ... is failing'. recovers: spans reached the endpoint once "
        "it answered 200 again. stop s: SIGTERM to exit with the endpoint failing again and "
        "200 requests' spans queued (obs-fastapi flushes on lifespan shutdown, bounded by "
        "OBS_SHUTDOWN_TIMEOUT_S=5)."
    )
    mean = statistics.fmean(healthy.latencies_ms)
    print(f"healthy mean latency {mean:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
