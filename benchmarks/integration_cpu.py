"""obs-faststream and obs-openai per operation, without the broker or the client: CPU time.

    uv run python -m benchmarks.integration_cpu faststream --rounds 11
    uv run python -m benchmarks.integration_cpu openai --rounds 11

The wall-clock groups (``benchmarks.run faststream`` / ``openai``) include a Redis round trip
or the whole OpenAI client per operation, so on a shared, loaded machine their differences
drown in scheduling noise. Here the integration's own hooks are driven directly with real
inputs captured once (a message received from Redis with its ``traceparent``, a publish
command; the client's request options and parsed answer), and each case is timed by this
thread's CPU clock, round-robin with a bare SDK span (3 attributes, plain pipeline) in the
same run. Printed: overhead per operation over the bare hooks, and its ratio to the span
(medians and minima of the rounds). The export thread's work is not included. The pipeline is
set up as in each wall-clock group (a metric reader for FastStream, none for OpenAI; no local
store for FastStream, as its group).
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import gc
import os
import statistics
import time
from collections.abc import Callable, Coroutine
from typing import Any

from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from benchmarks._harness import plain_provider, use_obs

OPS = 2000


def _drive(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine that never suspends (no event loop needed)."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    raise RuntimeError("the coroutine suspended")


def _faststream_cases() -> dict[str, Callable[[], None]]:
    from faststream._internal.middlewares import BaseMiddleware
    from faststream.redis.opentelemetry import RedisTelemetryMiddleware as FastStreamMiddleware

    from benchmarks.bench_faststream import _Case
    from obs_faststream.redis import RedisTelemetryMiddleware

    captured: dict[str, Any] = {}

    class Capture(BaseMiddleware):  # type: ignore[type-arg]
        async def consume_scope(self, call_next: Any, msg: Any) -> Any:
            captured.setdefault("consume", (self.msg, msg, self.context))
            return await call_next(msg)

        async def publish_scope(self, call_next: Any, cmd: Any) -> Any:
            captured.setdefault("cmd", copy.copy(cmd))
            return await call_next(cmd)

    async def capture() -> None:
        case = _Case([Capture, RedisTelemetryMiddleware()])  # a traced publish: a traceparent
        await case.broker.start()
        case.target, case.done = 1, asyncio.Event()
        await case.broker.publish({"order": 1, "item": "book"}, list=case.list)
        await asyncio.wait_for(case.done.wait(), 10)
        await case.broker.stop()

    asyncio.run(capture())
    raw, msg, repo = captured["consume"]
    cmd0 = captured["cmd"]

    async def call_next(_: Any) -> None:
        return None

    def loop(factory: Callable[..., Any]) -> Callable[[], None]:
        def run() -> None:
            for _ in range(OPS):
                _drive(factory(None, context=repo).publish_scope(call_next, copy.copy(cmd0)))
                consumer = factory(raw, context=repo)
                _drive(consumer.__aenter__())
                _drive(consumer.consume_scope(call_next, msg))
                _drive(consumer.__aexit__(None, None, None))

        return run

    return {
        "bare": loop(BaseMiddleware),
        "obs": loop(RedisTelemetryMiddleware()),
        "faststream's middleware": loop(FastStreamMiddleware(tracer_provider=plain_provider())),
    }


def _openai_cases() -> dict[str, Callable[[], None]]:
    from openai._base_client import SyncAPIClient

    import obs_openai
    from benchmarks.bench_openai import MESSAGES, _client
    from obs_openai import _instrument

    client = _client(False)
    captured: dict[str, Any] = {}
    original = SyncAPIClient.request

    def capture(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        captured.update(args=args, kwargs=kwargs, result=result)
        return result

    SyncAPIClient.request = capture  # type: ignore[assignment]
    try:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, temperature=0.2)
    finally:
        SyncAPIClient.request = original  # type: ignore[method-assign]
    args, kwargs, result = captured["args"], captured["kwargs"], captured["result"]
    obs_openai.instrument_openai()

    def answer(*_args: Any, **_kwargs: Any) -> Any:
        return result

    def bare() -> None:
        for _ in range(OPS):
            answer(*args, **kwargs)

    def ours() -> None:
        request = _instrument._sync_request
        for _ in range(OPS):
            request(answer, client, args, kwargs)

    return {"bare": bare, "obs": ours}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("integration", choices=["faststream", "openai"])
    parser.add_argument("--rounds", type=int, default=11)
    args = parser.parse_args()
    # Each pipeline as its wall-clock group sets it up: bench_faststream attaches a metric
    # reader (so histograms are aggregated), bench_openai does not.
    if args.integration == "faststream":
        use_obs(metric_readers=[InMemoryMetricReader()], store=False)
    else:
        use_obs()
    cases = _faststream_cases() if args.integration == "faststream" else _openai_cases()
    tracer = plain_provider().get_tracer("bench")

    def span() -> None:
        for _ in range(OPS):
            tracer.start_span("op", attributes={"a": 1, "b": "x", "c": 2}).end()

    cases["bare SDK span"] = span
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for fn in cases.values():
        fn()
    for _ in range(args.rounds):
        for name, fn in cases.items():
            gc.collect()
            start = time.thread_time_ns()
            fn()
            samples[name].append((time.thread_time_ns() - start) / 1000 / OPS)
    print(f"load average {os.getloadavg()[0]:.2f}; {args.rounds} rounds of {OPS} operations")
    for label, pick in (("median", statistics.median), ("min", min)):
        value = {name: pick(values) for name, values in samples.items()}
        one_span, bare = value["bare SDK span"], value["bare"]
        line = [f"{label:>6}: bare SDK span {one_span:.2f} µs"]
        for name in cases:
            if name not in ("bare", "bare SDK span"):
                over = value[name] - bare
                line.append(f"{name} +{over:.1f} µs = {over / one_span:.2f}×")
        print("; ".join(line))


if __name__ == "__main__":
    main()
