"""Load: concurrent HTTP requests through real uvicorn, messages through real Redis.

    uv run python -m benchmarks.reliability_load     # 3 x 1,000 concurrent requests, 10,000 messages
    uv run python -m benchmarks.reliability_load --requests 200 --rounds 1 --messages 1000

HTTP: an instrumented FastAPI app (``benchmarks.reliability_app``) in its own uvicorn process,
exporting over OTLP/HTTP to a local receiver. Every request is in flight at once; each carries
its own ``traceparent``; this is repeated for a few rounds. Checked from the exported spans: each server span continues its
request's trace under the client's span, each child span and log sits under its own request's
span (no cross-talk), none is lost after a graceful stop (SIGTERM), none is duplicated. The
server's RSS is sampled after each round.

Messages: producers publish through FastStream to one Redis list consumed by several brokers
at once (each its own connection), all instrumented, exporting over OTLP/HTTP. Checked: each
message's ``process`` span is the child of its own ``send``, whose parent is the producing span
of the same message; the handler's span under it carries the same message number; nothing lost
after the brokers stop and obs shuts down. This process' RSS and tracemalloc peak are sampled.

``tests/reliability/test_load.py`` runs the same checks at CI size.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import random
import resource
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from obs.testing.otlp import OTLPReceiver, attributes

ROOT = Path(__file__).resolve().parents[1]


def rss_mb(pid: int | str = "self") -> float:
    """Resident set size now, from /proc (Linux)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OBS_"))}
    env.update(PYTHONPATH=str(ROOT), OBS_CONSOLE="false", OBS_STORE="off", **extra)
    return env


@dataclass
class Result:
    """What one load run found: counts, problems (empty when every check passed), memory."""

    name: str
    operations: int
    expected_spans: int
    received_spans: int = 0
    duplicates: int = 0
    problems: list[str] = field(default_factory=list)
    memory_mb: list[float] = field(default_factory=list)
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def lost(self) -> int:
        return self.expected_spans - (self.received_spans - self.duplicates)

    def lines(self) -> list[str]:
        memory = " -> ".join(f"{m:.1f}" for m in self.memory_mb)
        out = [
            f"{self.name}: {self.operations} operations in {self.seconds:.1f} s "
            f"({self.operations / self.seconds:.0f}/s)",
            f"  spans expected {self.expected_spans}, received {self.received_spans}, "
            f"lost {self.lost}, duplicated {self.duplicates}",
            f"  wrong parent / cross-talk: {len(self.problems)}"
            + (f" (first: {self.problems[0]})" if self.problems else ""),
            f"  RSS MB over the run: {memory}",
        ]
        out.extend(f"  {k}: {v}" for k, v in self.extra.items())
        return out


def _dedupe(spans: list[Any]) -> tuple[dict[bytes, Any], int]:
    by_id: dict[bytes, Any] = {}
    duplicates = 0
    for s in spans:
        if s.span_id in by_id:
            duplicates += 1
        by_id[s.span_id] = s
    return by_id, duplicates


# -- HTTP ---------------------------------------------------------------------------------
def start_server(endpoint: str, log: Path, **env: str) -> tuple[subprocess.Popen[str], str]:
    """``benchmarks.reliability_app`` in its own uvicorn process, exporting to ``endpoint``."""
    port = free_port()
    environment = clean_env(OTEL_EXPORTER_OTLP_ENDPOINT=endpoint, **env)
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "benchmarks.reliability_app:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
                "--backlog",
                "4096",
            ],
            cwd=ROOT,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/ping", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not start: {log.read_text()}")
        time.sleep(0.1)


def stop_server(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def _fire(
    base: str, requests: int, rounds: int, samples: list[float], pid: int
) -> dict[int, tuple[int, int]]:
    """``rounds`` times, ``requests`` requests in flight at once (each on its own connection).

    Returns request number -> (the client's trace id, span id) it sent in ``traceparent``.
    """
    sent: dict[int, tuple[int, int]] = {}
    limits = httpx.Limits(max_connections=requests, max_keepalive_connections=requests)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120) as client:

        async def one(rid: int) -> None:
            trace_id, span_id = random.getrandbits(128) | 1, random.getrandbits(64) | 1
            sent[rid] = (trace_id, span_id)
            response = await client.get(
                f"/work/{rid}", headers={"traceparent": f"00-{trace_id:032x}-{span_id:016x}-01"}
            )
            response.raise_for_status()
            body = response.json()
            if body["rid"] != rid or body["trace_id"] != f"{trace_id:032x}":
                raise AssertionError(f"request {rid} answered for another: {body}")

        for round_ in range(rounds):
            start = round_ * requests
            await asyncio.gather(*(one(rid) for rid in range(start, start + requests)))
            samples.append(rss_mb(pid))
    return sent


def check_http(spans: list[Any], sent: dict[int, tuple[int, int]]) -> tuple[list[str], int, int]:
    # the readiness probe's spans are not part of the load
    by_id, duplicates = _dedupe([s for s in spans if s.name != "GET /ping"])
    problems: list[str] = []
    servers: dict[int, Any] = {}
    for s in by_id.values():
        if s.name == "GET /work/{rid}":
            rid = int(attributes(s)["url.path"].rsplit("/", 1)[1])
            if rid in servers:
                problems.append(f"two server spans for request {rid}")
            servers[rid] = s
    for rid, (trace_id, span_id) in sent.items():
        server = servers.get(rid)
        if server is None:
            continue  # counted as lost
        if server.trace_id != trace_id.to_bytes(16, "big"):
            problems.append(f"request {rid}: server span not in the client's trace")
        if server.parent_span_id != span_id.to_bytes(8, "big"):
            problems.append(f"request {rid}: server span's parent is not the client's span")
    for s in by_id.values():
        if s.name == "child {rid}":
            rid = attributes(s)["rid"]
            server = servers.get(rid)
            if server is None:
                continue
            if s.parent_span_id != server.span_id or s.trace_id != server.trace_id:
                problems.append(f"child span of request {rid} is not under its request's span")
        elif s.name == "inside {rid}":
            parent = by_id.get(s.parent_span_id)
            if parent is None:
                continue
            if parent.name != "child {rid}" or attributes(parent)["rid"] != attributes(s)["rid"]:
                problems.append(f"log of request {attributes(s)['rid']} under another's span")
    return problems, len(by_id), duplicates


def http_load(requests: int, rounds: int, workdir: Path, **server_env: str) -> Result:
    result = Result(
        f"http (uvicorn, {requests} concurrent x {rounds} rounds)",
        requests * rounds,
        expected_spans=3 * requests * rounds,
    )
    with OTLPReceiver() as receiver:
        proc, base = start_server(receiver.endpoint, workdir / "uvicorn.log", **server_env)
        try:
            result.memory_mb.append(rss_mb(proc.pid))
            started = time.perf_counter()
            sent = asyncio.run(_fire(base, requests, rounds, result.memory_mb, proc.pid))
            result.seconds = time.perf_counter() - started
        finally:
            stop_server(proc)  # graceful: obs-fastapi flushes when the lifespan shuts down
        # uvicorn ends by re-raising SIGTERM: -15 is its graceful exit
        result.extra["server exit code"] = proc.returncode
        spans = receiver.spans()
    result.problems, result.received_spans, result.duplicates = check_http(spans, sent)
    result.received_spans += result.duplicates
    return result


# -- messages -----------------------------------------------------------------------------
async def _message_run(messages: int, consumers: int, samples: list[float]) -> float:
    from faststream.redis import RedisBroker

    import obs

    name = f"obs-load-{uuid.uuid4().hex[:8]}"
    done = asyncio.Event()
    handled = Counter[int]()

    async def handle(body: dict[str, int]) -> None:
        i = body["i"]
        with obs.span("handle {i}", i=i):
            await asyncio.sleep(0)  # other messages' handlers run here
        handled[i] += 1
        if len(handled) >= messages:
            done.set()

    brokers = []
    for _ in range(consumers):
        broker = RedisBroker("redis://127.0.0.1:6379", logger=None)
        broker.subscriber(list=name)(handle)
        brokers.append(broker)
    producer = RedisBroker("redis://127.0.0.1:6379", logger=None)

    async def produce(i: int) -> None:
        with obs.span("produce {i}", i=i):
            await producer.publish({"i": i}, list=name)

    async with contextlib.AsyncExitStack() as stack:
        for broker in (*brokers, producer):
            await stack.enter_async_context(broker)
        for broker in brokers:
            await broker.start()
        started = time.perf_counter()
        chunk = 50  # concurrent publishes: within the Redis pool FastStream opens
        for start in range(0, messages, chunk):
            await asyncio.gather(*(produce(i) for i in range(start, min(messages, start + chunk))))
            if (start // chunk) % max(1, messages // chunk // 5) == 0:
                samples.append(rss_mb())
        await asyncio.wait_for(done.wait(), 60 + messages / 50)
        elapsed = time.perf_counter() - started
    # brokers stopped (graceful): every handler has returned, its spans have ended
    twice = [i for i, n in handled.items() if n != 1]
    if twice:
        raise AssertionError(f"messages handled more than once: {twice[:5]}")
    return elapsed


def check_messages(spans: list[Any], messages: int) -> tuple[list[str], int, int]:
    by_id, duplicates = _dedupe(spans)
    problems: list[str] = []
    for s in by_id.values():
        if not s.name.startswith("handle "):
            continue
        i = attributes(s)["i"]
        process = by_id.get(s.parent_span_id)
        send = by_id.get(process.parent_span_id) if process is not None else None
        produce = by_id.get(send.parent_span_id) if send is not None else None
        if process is None or send is None or produce is None:
            continue  # a lost span: counted, not a parentage problem
        if not (process.name.startswith("process ") and send.name.startswith("send ")):
            problems.append(f"message {i}: handler not under process <- send")
        elif attributes(produce).get("i") != i:
            problems.append(f"message {i} handled under message {attributes(produce).get('i')}")
        elif len({s.trace_id, process.trace_id, send.trace_id, produce.trace_id}) != 1:
            problems.append(f"message {i}: spans in different traces")
    return problems, len(by_id), duplicates


def message_load(messages: int, consumers: int, configure: Any = None) -> Result:
    """``configure``: the function that configures obs (tests pass their capture's)."""
    import obs

    result = Result(
        f"messages (redis, {consumers} consumers)", messages, expected_spans=4 * messages
    )
    with OTLPReceiver() as receiver:
        (configure or obs.configure)(
            service_name="reliability-load",
            otlp_endpoint=receiver.endpoint,
            console=False,
            store=False,
            instrument=["faststream"],
        )
        gc.collect()
        try:
            result.seconds = asyncio.run(_message_run(messages, consumers, result.memory_mb))
        finally:
            result.memory_mb.append(rss_mb())
            obs.shutdown()  # graceful: flushes what is queued
            obs.uninstrument("faststream")
        spans = receiver.spans()
    result.problems, result.received_spans, result.duplicates = check_messages(spans, messages)
    result.received_spans += result.duplicates
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of concurrent requests")
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--consumers", type=int, default=4)
    args = parser.parse_args()
    import tempfile

    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.2f}"
    )
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        http = http_load(args.requests, args.rounds, Path(tmp))
    print("\n".join(http.lines()))
    ok &= not http.problems and http.lost == 0
    msgs = message_load(args.messages, args.consumers)
    print("\n".join(msgs.lines()))
    ok &= not msgs.problems and msgs.lost == 0
    print(
        f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )
    print("OK" if ok else "PROBLEMS FOUND")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
