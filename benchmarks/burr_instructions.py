"""Burr: main-thread CPU instructions per step (callgrind), a figure a loaded machine cannot move.

    uv run python -m benchmarks.burr_instructions [--apps 5] [sync-obs sync-bare ...]

Wall-clock and CPU-time ratios on a shared 2-core machine drift by tens of percent from run
to run; instruction counts do not (they vary by about 1 % with random ids and dict layouts).
Each case runs in its own process under ``valgrind --tool=callgrind``: a warm-up of two
applications, then ``--apps`` applications of ``bench_burr.STEPS`` steps between two
``os.getppid()`` calls, at which callgrind dumps its counters; the main thread's count in
that window divided by the steps is the figure (the other threads' count over the whole run,
per step of the run, is shown with the overhead). Overhead per step = case - bare. Cases:
``{sync,async}-{bare,obs,leanfloor}`` (leanfloor: one lean span per step by hand, on obs's
batch processor). Needs valgrind; about a minute or two per case.
"""

from __future__ import annotations

import argparse
import asyncio
import os

#: ``sdk-span``: the benchmark's reference, one bare SDK span (3 attributes) per unit in a tight
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
        from benchmarks._harness import sdk_spans

        sdk_spans(2 * bench_burr.STEPS)()
        os.getppid()
        sdk_spans(apps * bench_burr.STEPS)()
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


def count(case: str, apps: int) -> tuple[float, float]:
    """Main-thread instructions per step in the window, other threads' per step of the run."""
    from benchmarks.bench_burr import STEPS
    from benchmarks.instructions import callgrind

    return callgrind(
        "benchmarks.burr_instructions",
        [case, "--apps", str(apps)],
        apps * STEPS,
        2 * STEPS,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("cases", nargs="*", default=list(CASES))
    parser.add_argument("--apps", type=int, default=5)
    parser.add_argument("--workload", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.workload:
        workload(args.workload, args.apps)
        return
    from benchmarks.instructions import report

    report({case: count(case, args.apps) for case in args.cases}, "step")


if __name__ == "__main__":
    main()
