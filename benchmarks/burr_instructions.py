"""Burr: main-thread CPU instructions per step (callgrind), a figure a loaded machine cannot move.

    uv run python -m benchmarks.burr_instructions [--apps 5] [sync-obs sync-bare ...]

Wall-clock and CPU-time ratios on a shared 2-core machine drift by tens of percent from run
to run; instruction counts do not (they vary by about 1 % with random ids and dict layouts).
Each case runs in its own process under ``valgrind --tool=callgrind``: a warm-up of two
applications, then ``--apps`` applications of ``bench_burr.STEPS`` steps between two
``os.getppid()`` calls, at which callgrind dumps its counters; the main thread's count in
that window divided by the steps is the figure. Overhead per step = case - bare. Cases:
``{sync,async}-{bare,obs,leanfloor}`` (leanfloor: one lean span per step by hand, on obs's
batch processor). Needs valgrind; about a minute or two per case.
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import os
import subprocess
import sys
import tempfile

#: ``sdk-span``: the benchmark's reference, one bare SDK span (2 attributes) per unit in a tight
#: loop on the plain pipeline; ``-bridge``: Burr's ``OpenTelemetryBridge`` on the plain pipeline.
CASES = ("sdk-span", "sync-bare", "sync-obs", "sync-bridge", "sync-leanfloor", "async-bare")


def workload(case: str, apps: int) -> None:
    """Run in the process callgrind watches."""
    from benchmarks import bench_burr
    from benchmarks._harness import use_plain
    from obs_burr import ObsHooks

    kind, which = case.split("-")
    bench_burr._use_obs()
    if case == "sdk-span":
        from benchmarks._harness import plain_provider

        tracer = plain_provider().get_tracer("bench")

        def spans(count: int) -> None:
            for _ in range(count * bench_burr.STEPS):
                tracer.start_span("op", attributes={"a": 1, "b": "x"}).end()

        spans(2)
        os.getppid()
        spans(apps)
        os.getppid()
        return
    sync_app, async_app = bench_burr._apps()
    adapters: list[object] = {
        "bare": [],
        "obs": [ObsHooks(name="bench")],
        "leanfloor": [bench_burr._lean_floor_hooks()],
        "bridge": [_bridge()],
    }[which]
    if which != "obs":
        use_plain()
    if kind == "sync":

        def run(count: int) -> None:
            for _ in range(count):
                sync_app(adapters).run(halt_after=["done"])

    else:
        loop = asyncio.new_event_loop()

        async def runs(count: int) -> None:
            for _ in range(count):
                await async_app(adapters).arun(halt_after=["done"])

        def run(count: int) -> None:
            loop.run_until_complete(runs(count))

    run(2)
    os.getppid()  # callgrind dumps here ...
    run(apps)
    os.getppid()  # ... and here: the window between is the measured one


def _bridge() -> object:
    from burr.integrations.opentelemetry import OpenTelemetryBridge

    return OpenTelemetryBridge()


def count(case: str, apps: int) -> float:
    from benchmarks.bench_burr import STEPS

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
                "benchmarks.burr_instructions",
                "--workload",
                case,
                "--apps",
                str(apps),
            ],
            check=True,
            capture_output=True,
        )
        best = 0
        for path in glob.glob(out + ".*-01"):  # main thread; dump 1 is the start-up
            if path.endswith(".1-01"):
                continue
            with open(path) as f:
                for line in f:
                    if line.startswith(("summary:", "totals:")):
                        best = max(best, int(line.split()[1]))
                        break
        return best / (apps * STEPS)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("cases", nargs="*", default=list(CASES))
    parser.add_argument("--apps", type=int, default=5)
    parser.add_argument("--workload", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.workload:
        workload(args.workload, args.apps)
        return
    figures = {case: count(case, args.apps) for case in args.cases}
    span = figures.get("sdk-span")
    for case, per_step in figures.items():
        bare = figures.get(case.split("-")[0] + "-bare")
        over = ""
        if bare and case.split("-")[0] in ("sync", "async") and not case.endswith("bare"):
            over = f"  overhead {per_step - bare:9,.0f}"
            if span:
                over += f" = {(per_step - bare) / span:.2f}× the SDK span"
        print(f"{case:16} {per_step:11,.0f} instructions per step{over}")


if __name__ == "__main__":
    main()
