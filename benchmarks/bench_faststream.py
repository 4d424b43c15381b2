"""FastStream: publish + consume through a real Redis list, bare vs obs vs FastStream's own.

Each case has its own broker and list on the same Redis (127.0.0.1:6379), all connected in
one event loop. A round publishes ``OPS`` messages and waits until the handler has seen all
of them; the cases run round-robin. Per message the middlewares emit two spans (obs: ``send``
+ ``process``; FastStream: ``create`` + ``publish`` + ``process``, three); obs's target (issue
#14) is overhead ≤ 4 × one bare SDK span, and ≤ 1/3 of FastStream's own overhead.

FastStream's middleware runs on the plain SDK pipeline, obs on its own; both record metrics
into the same SDK meter provider (with a reader attached, so aggregation is really done).

Two groups from the same rounds: ``faststream`` is wall-clock time per message (what the
issue measured); ``faststream-cpu`` is this process' CPU time per message (all threads,
user + system), which leaves out the time spent waiting for Redis and for other processes.
On a loaded machine the wall-clock difference is dominated by scheduling (a loopback
``send`` wakes redis-server, which may preempt the publisher), so the CPU group is the one
that measures what the middleware itself costs.
"""

from __future__ import annotations

import asyncio
import gc
import time
import uuid
from collections.abc import Callable
from typing import Any

from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from benchmarks._harness import (
    SDK_SPAN_CASE,
    Group,
    Result,
    flush_spans,
    interleaved,
    paired,
    paired_note,
    sdk_spans,
    use_obs,
    use_plain,
)

OPS = 500
URL = "redis://127.0.0.1:6379"


class _Case:
    """One broker, one list, one handler counting what it received."""

    def __init__(self, middlewares: list[Any]) -> None:
        from faststream.redis import RedisBroker

        self.list = f"bench-{uuid.uuid4().hex}"
        self.broker = RedisBroker(URL, middlewares=middlewares, logger=None)
        self.received = 0
        self.target = 0
        self.done: asyncio.Event | None = None

        @self.broker.subscriber(list=self.list)
        async def handle(body: dict[str, Any]) -> None:
            self.received += 1
            if self.received >= self.target and self.done is not None:
                self.done.set()

    async def round(self) -> None:
        self.received = 0
        self.target = OPS
        self.done = asyncio.Event()
        publish = self.broker.publish
        for i in range(OPS):
            await publish({"order": i, "item": "book"}, list=self.list)
        await asyncio.wait_for(self.done.wait(), timeout=120)


def _configure_options() -> set[str]:
    import inspect

    import obs

    return set(inspect.signature(obs.configure).parameters)


def bench(rounds: int, sdk_span: Result) -> list[Group]:
    from faststream.redis.opentelemetry import RedisTelemetryMiddleware as FastStreamMiddleware

    from obs_faststream.redis import RedisTelemetryMiddleware

    # No local span store in the measured pipeline: its exporter thread writes to disk and
    # competes for the GIL, which is the store's cost, not the middleware's.
    extra: dict[str, Any] = {"store": False} if "store" in _configure_options() else {}

    def obs_pipeline() -> None:
        # A reader, so metrics are aggregated as with a real exporter (one reader per provider).
        use_obs(metric_readers=[InMemoryMetricReader()], **extra)

    obs_pipeline()
    cases = {
        "faststream bare (redis list)": _Case([]),
        "obs RedisTelemetryMiddleware": _Case([RedisTelemetryMiddleware()]),
        "faststream RedisTelemetryMiddleware": _Case([FastStreamMiddleware()]),
    }
    loop = asyncio.new_event_loop()
    try:
        for case in cases.values():
            loop.run_until_complete(case.broker.start())

        before = {
            "faststream bare (redis list)": use_plain,
            "obs RedisTelemetryMiddleware": obs_pipeline,
            "faststream RedisTelemetryMiddleware": use_plain,
        }
        cpu: dict[str, list[float]] = {name: [] for name in cases}

        def timed(name: str, case: _Case) -> Callable[[], None]:
            def run() -> None:
                gc.collect()
                start = time.process_time_ns()
                loop.run_until_complete(case.round())
                flush_spans()  # as ``interleaved`` does: the case's export work is its own
                cpu[name].append((time.process_time_ns() - start) / 1000 / OPS)

            return run

        reference = sdk_spans(OPS)
        cpu[SDK_SPAN_CASE] = []

        def spans() -> None:
            # The table's reference span in the same rounds, in both clocks.
            start = time.process_time_ns()
            reference()
            flush_spans()
            cpu[SDK_SPAN_CASE].append((time.process_time_ns() - start) / 1000 / OPS)

        timed_cases = {SDK_SPAN_CASE: spans}
        timed_cases.update({name: timed(name, case) for name, case in cases.items()})
        samples = interleaved(
            timed_cases,
            OPS,
            rounds,
            warmup=1,
            before=before,
        )
    finally:
        for case in cases.values():
            loop.run_until_complete(case.broker.stop())
        loop.close()
        obs_pipeline()

    groups = []
    for group_name, data in (("faststream", samples), ("faststream-cpu", _drop_warmup(cpu))):
        group = Group(group_name, "message")
        span_round = data[SDK_SPAN_CASE]
        bare_name, ours_name, theirs_name = cases
        bare = Result(group_name, bare_name, data[bare_name], "0", baseline=True)
        ours = Result(group_name, ours_name, data[ours_name], "2")
        theirs = Result(group_name, theirs_name, data[theirs_name], "3")
        ours_over, _ = paired(ours.samples_us, bare.samples_us, span_round)
        theirs_over, _ = paired(theirs.samples_us, bare.samples_us, span_round)
        ours.note = (
            f"{paired_note(ours.samples_us, bare.samples_us, span_round)} (target ≤ 4); "
            f"FastStream's own overhead {theirs_over:.1f} µs = "
            f"{theirs_over / ours_over if ours_over > 0 else float('inf'):.1f} × obs's (target ≥ 3)"
        )
        theirs.note = paired_note(theirs.samples_us, bare.samples_us, span_round)
        group.results.extend([bare, ours, theirs])
        groups.append(group)
    return groups


def _drop_warmup(cpu: dict[str, list[float]]) -> dict[str, list[float]]:
    """The CPU samples include the warm-up round (interleaved() runs it first): drop it."""
    return {name: values[1:] for name, values in cpu.items()}
