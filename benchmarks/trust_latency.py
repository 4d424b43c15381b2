"""Can a client slow a service down for everyone else? Attackers against a real uvicorn.

    uv run python -m benchmarks.trust_latency                 # 5 rounds, 400 probes each
    uv run python -m benchmarks.trust_latency --rounds 1 --probes 100

The instrumented FastAPI app of the reliability benchmarks (``benchmarks.reliability_app``,
OTLP export to a local receiver) runs in its own uvicorn process. A third client measures the
median latency of a healthy endpoint (``GET /fast``: a span and a log), one request at a
time, first with nobody else talking to the server, then while two attacker processes send,
back to back, the worst requests we could construct for obs: paths and user agents of
secret-like words repeated (``token`` x 1,300, ``auth.`` x 1,500), queries of ``password=``
assignments, deep brackets, and 180 baggage entries of the same. Rounds alternate quiet and
attacked, and the medians of the rounds are compared: the target is at most +20 %.

``tests/trust/test_attacker_latency.py`` runs it at CI size with a generous bound.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from benchmarks.reliability_load import ROOT, start_server, stop_server
from obs.testing.otlp import OTLPReceiver


def worst_requests() -> list[tuple[str, dict[str, str]]]:
    """(path with query, headers) for each attack, each within uvicorn's header limits."""
    baggage = ",".join(f"token{i}={'token=' * 5}" for i in range(180))[:8000]
    return [
        ("/" + "token" * 1300, {"user-agent": "auth." * 1500}),
        ("/fast?" + "password=token&" * 450, {"user-agent": "[" * 3000, "baggage": baggage}),
        (
            "/a/" + "auth.token=" * 600,
            {"x-note": "token " * 1200 + "end", "user-agent": "Bearer " * 1000},
        ),
        ("/fast", {"baggage": baggage, "user-agent": "{" * 1500 + "[" * 1500}),
    ]


def attack(base: str, seconds: float) -> None:
    """One attacker: the worst requests, back to back, for ``seconds`` or until SIGTERM."""
    stopped = threading.Event()
    # A flag, not ``sys.exit`` from the handler: an exception raised by a signal handler that
    # lands inside a ``__del__`` or a callback is printed and swallowed, and the attacker then
    # ran its whole budget while the parent waited for it.
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    requests = worst_requests()
    deadline = time.monotonic() + seconds
    sent = 0
    try:
        with httpx.Client(base_url=base, timeout=10) as client:
            while time.monotonic() < deadline and not stopped.is_set():
                path, headers = requests[sent % len(requests)]
                with contextlib.suppress(httpx.HTTPError):
                    client.get(path, headers=headers)
                sent += 1
                if sent == len(requests):
                    print("ready", flush=True)  # every attack has reached the server once
    finally:
        print(sent, flush=True)


def probe(client: httpx.Client, count: int) -> float:
    """Median latency (ms) of ``count`` sequential healthy requests."""
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        response = client.get("/fast")
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    return statistics.median(samples)


@dataclass
class Result:
    quiet_ms: list[float]
    attacked_ms: list[float]
    attack_requests: int
    attack_seconds: float

    @property
    def quiet(self) -> float:
        return statistics.median(self.quiet_ms)

    @property
    def attacked(self) -> float:
        return statistics.median(self.attacked_ms)

    @property
    def ratio(self) -> float:
        return self.attacked / self.quiet


def measure(rounds: int = 5, probes: int = 400, attackers: int = 2, bare: bool = False) -> Result:
    quiet: list[float] = []
    attacked: list[float] = []
    sent = 0
    spent = 0.0
    with tempfile.TemporaryDirectory() as tmp, OTLPReceiver() as receiver:
        # bare: the same app with obs-fastapi switched off, the floor the attack costs anyway
        env = {"OBS_DISABLED_INTEGRATIONS": "fastapi"} if bare else {}
        proc, base = start_server(receiver.endpoint, Path(tmp) / "uvicorn.log", **env)
        try:
            with httpx.Client(base_url=base, timeout=60) as client:
                probe(client, 50)  # warm up
                for _ in range(rounds):
                    quiet.append(probe(client, probes))
                    receiver.requests.clear()  # keep this process' memory flat
                    budget = 120.0
                    procs = [
                        subprocess.Popen(
                            [
                                sys.executable,
                                "-m",
                                "benchmarks.trust_latency",
                                "--attack",
                                base,
                                "--seconds",
                                str(budget),
                            ],
                            cwd=ROOT,
                            stdout=subprocess.PIPE,
                            text=True,
                        )
                        for _ in range(attackers)
                    ]
                    for p in procs:  # started (imports done) and sending: measure now
                        assert p.stdout is not None
                        assert p.stdout.readline().strip() == "ready"
                    started = time.monotonic()
                    attacked.append(probe(client, probes))
                    spent += time.monotonic() - started
                    for p in procs:
                        p.terminate()
                    for p in procs:
                        sent += _count(p)
                    receiver.requests.clear()
        finally:
            stop_server(proc)
    return Result(quiet, attacked, sent, spent)


def _count(attacker: subprocess.Popen[str]) -> int:
    """Requests an attacker sent beyond its first pass; 0 if it had to be killed."""
    try:
        out, _ = attacker.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        attacker.kill()
        attacker.communicate()
        return 0
    words = out.split()
    if not words or not words[-1].isdigit():
        return 0
    return max(int(words[-1]) - len(worst_requests()), 0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--probes", type=int, default=400)
    parser.add_argument("--attackers", type=int, default=2)
    parser.add_argument(
        "--bare", action="store_true", help="the same app uninstrumented: the attack's floor"
    )
    parser.add_argument("--attack", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=60.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.attack:
        attack(args.attack, args.seconds)
        return
    result = measure(args.rounds, args.probes, args.attackers, args.bare)
    print(
        f"healthy endpoint median latency, {args.probes} sequential probes x {args.rounds} rounds"
    )
    print("round  quiet ms  attacked ms  ratio")
    for i, (q, a) in enumerate(zip(result.quiet_ms, result.attacked_ms, strict=True)):
        print(f"{i + 1:>5}  {q:>8.2f}  {a:>11.2f}  {a / q:>5.2f}")
    print(
        f"median quiet {result.quiet:.2f} ms, attacked {result.attacked:.2f} ms: "
        f"x{result.ratio:.2f} (target <= 1.20); attackers sent {result.attack_requests} "
        f"worst-case requests, {result.attack_requests / max(result.attack_seconds, 1e-9):.0f}/s"
    )


if __name__ == "__main__":
    main()
