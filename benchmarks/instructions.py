"""FastAPI and FastStream: CPU instructions per operation (callgrind), figures load cannot move.

    uv run python -m benchmarks.instructions [--ops 1000] [case ...]

The wall-clock groups drift by tens of percent from run to run on a shared 2-core machine;
instruction counts by 1–2 % at the same ``--ops`` (more with a different ``--ops``: a full
garbage collection falls in a short window or not), so compare the cases of one run. Each case runs in its own process under
``valgrind --tool=callgrind``: a warm-up, then ``--ops`` operations between two
``os.getppid()`` calls, where callgrind dumps its counters. Printed per operation: the main
thread's instructions in that window, and the other threads' (obs's and the SDK's export
threads: scrubbing, batching, freeing the spans) over the whole run divided by every
operation of the run. Overhead = case - its group's bare case, also as a multiple of the
reference span (``sdk-span``: one bare SDK span, 3 attributes, plain pipeline, tight loop).

Instructions are not time: inside a real request the same instructions run slower than in
a tight loop (cold caches), which is why the wall-clock ratios are higher. They show what
each tool asks of the CPU, and every change's effect, without noise.

Cases: ``sdk-span``; ``fastapi-{bare,obs,floor,starlette,native}`` (``bench_fastapi``'s apps,
2,000 warm-up requests); ``faststream-{bare,noop,obs,theirs}`` (``bench_faststream``'s Redis
list, messages published and consumed in rounds of 100; ``noop``: a FastStream middleware
that does nothing, what the host's middleware mechanism itself costs);
``openai-{bare,obs,v2}`` (``bench_openai``'s chat completion through the real client and a
replaying transport; ``v2``: OpenTelemetry's openai-v2 on the plain pipeline). FastStream
needs Redis on 127.0.0.1:6379; everything needs valgrind. About two minutes per case.
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from typing import Any

CASES = (
    "sdk-span",
    "fastapi-bare",
    "fastapi-obs",
    "fastapi-floor",
    "fastapi-starlette",
    "fastapi-native",
    "faststream-bare",
    "faststream-noop",
    "faststream-obs",
    "faststream-theirs",
    "openai-bare",
    "openai-obs",
    "openai-v2",
)
WARMUP = 2000
ROUND = 100  # FastStream messages per round
OPENAI_WARMUP = 200


def callgrind(module: str, args: list[str], ops: int, warmup_ops: int) -> tuple[float, float]:
    """Run ``python -m module --workload ...`` under callgrind.

    Returns the main thread's instructions per operation between the workload's two
    ``os.getppid()`` calls, and the other threads' instructions over the whole run per
    operation of the run (``ops + warmup_ops``).
    """
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "cg.out")
        subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--separate-threads=yes",
                "--dump-before=*getppid*",
                f"--callgrind-out-file={out}",
                sys.executable,
                "-m",
                module,
                "--workload",
                *args,
            ],
            check=True,
            capture_output=True,
        )
        main = others = 0
        for path in glob.glob(out + "*"):
            name = os.path.basename(path)
            total = _total(path)
            # Dumps are ``cg.out.<n>-<thread>`` (at each getppid: the main thread only; dump 1
            # is the start-up) and ``cg.out-<thread>`` at exit (every thread's remainder).
            if name.startswith("cg.out.") and name.endswith("-01"):
                if not name.startswith("cg.out.1-"):
                    main = max(main, total)  # the measured window is the biggest dump
            elif name.startswith("cg.out-") and not name.endswith("-01"):
                others += total
        return main / ops, others / (ops + warmup_ops)


def _total(path: str) -> int:
    with open(path) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    return 0


# -- the workloads (run in the process callgrind watches) -------------------------------------
def _window(run: Callable[[int], None], ops: int, warmup_ops: int) -> None:
    run(warmup_ops)
    os.getppid()  # callgrind dumps here ...
    run(ops)
    os.getppid()  # ... and here: the window between is the measured one


def _sdk_span(ops: int) -> None:
    from benchmarks._harness import sdk_spans

    _window(lambda n: sdk_spans(n)(), ops, WARMUP)


def _fastapi(which: str, ops: int) -> None:
    from benchmarks import bench_fastapi as bf
    from benchmarks._harness import use_plain

    bf._use_obs()
    apps: dict[str, Callable[[], Any]] = {
        "bare": lambda: bf.make_app(**bf._OFF),
        "obs": bf._obs_app,
        "floor": bf._floor_app,
        "starlette": bf._starlette_app,
        "native": lambda: bf.make_app(operation_spans=False, metrics=False, logs=False),
    }
    app = apps[which]()
    if which not in ("obs", "floor"):
        use_plain()
    _window(lambda n: bf.driver(app, n)(), ops, WARMUP)


def _faststream(which: str, ops: int) -> None:
    from faststream._internal.middlewares import BaseMiddleware
    from faststream.redis.opentelemetry import RedisTelemetryMiddleware as FastStreamMiddleware
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    from benchmarks import bench_faststream as bfs
    from benchmarks._harness import use_obs, use_plain
    from obs_faststream.redis import RedisTelemetryMiddleware

    use_obs(metric_readers=[InMemoryMetricReader()], store=False)  # as bench_faststream

    class Noop(BaseMiddleware):  # type: ignore[type-arg]
        pass

    middlewares: dict[str, list[Any]] = {
        "bare": [],
        "noop": [Noop],
        "obs": [RedisTelemetryMiddleware()],
        "theirs": [FastStreamMiddleware()],
    }
    if which != "obs":
        use_plain()
    bfs.OPS = ROUND
    case = bfs._Case(middlewares[which])
    loop = asyncio.new_event_loop()
    loop.run_until_complete(case.broker.start())

    def run(n: int) -> None:
        for _ in range(max(1, n // ROUND)):
            loop.run_until_complete(case.round())

    try:
        _window(run, ops, 5 * ROUND)
    finally:
        loop.run_until_complete(case.broker.stop())
        loop.close()


def _openai(which: str, ops: int) -> None:
    from benchmarks import bench_openai as bo

    bo.use_obs()
    switch = bo._Switch()
    switch.load()
    switch.to({"bare": None, "obs": "obs", "v2": "openai-v2"}[which])
    client = bo._client(False)
    _window(lambda n: bo._driver(client, False, n)(), ops, OPENAI_WARMUP)


def workload(case: str, ops: int) -> None:
    if case == "sdk-span":
        _sdk_span(ops)
        return
    group, which = case.split("-", 1)
    if group == "fastapi":
        _fastapi(which, ops)
    elif group == "openai":
        _openai(which, ops)
    else:
        _faststream(which, ops)


def report(figures: dict[str, tuple[float, float]], unit: str) -> None:
    """Print each case's counts per ``unit`` and, for a case of a group with a ``<group>-bare``
    case, its overhead over it, also as a multiple of the ``sdk-span`` case."""
    span = figures.get("sdk-span", (0.0, 0.0))[0]
    for case, (main_thread, others) in figures.items():
        line = f"{case:18} main {main_thread:11,.0f}  other threads {others:8,.0f} per {unit}"
        bare = figures.get(case.split("-")[0] + "-bare")
        if bare is not None and not case.endswith("-bare"):
            over = main_thread - bare[0]
            line += f"  overhead {over:9,.0f} (+{others - bare[1]:,.0f} other threads)"
            if span:
                line += f" = {over / span:.2f}× (+{(others - bare[1]) / span:.2f}×) the SDK span"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("cases", nargs="*", default=list(CASES))
    parser.add_argument("--ops", type=int, default=1000)
    parser.add_argument("--workload", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.workload:
        workload(args.workload, args.ops)
        return
    figures = {}
    for case in args.cases:
        warmup = (
            5 * ROUND
            if case.startswith("faststream")
            else OPENAI_WARMUP
            if case.startswith("openai")
            else WARMUP
        )
        figures[case] = callgrind(
            "benchmarks.instructions", [case, "--ops", str(args.ops)], args.ops, warmup
        )
    report(figures, "operation")


if __name__ == "__main__":
    main()
