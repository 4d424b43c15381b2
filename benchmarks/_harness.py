"""Benchmark harness: every case measured in one process run, medians and ratios.

A case is a callable doing ``ops`` operations (requests, messages, calls, steps); the harness
times ``rounds`` rounds after a warm-up and reports the median µs per operation. Each group
names its baseline (the bare host); overhead = case median - baseline median, also shown as
a ratio to one bare OpenTelemetry SDK span measured in the same run (``sdk span``).

Pipelines: "plain" is an SDK TracerProvider with a BatchSpanProcessor and an exporter that
drops spans; "obs" is ``obs.configure()`` with the same exporter behind obs's own pipeline
(baggage, scrubbing) and obs's own batch processor, the one its OTLP and store outputs use
(which scrubs on its export thread). Competing tools run on the plain pipeline, obs on its own.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace as trace_api
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

import obs
from obs import _config


class NullExporter(SpanExporter):
    """Counts spans and drops them: the export cost is the same for every tool."""

    def __init__(self) -> None:
        self.count = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.count += len(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


def _batch() -> BatchSpanProcessor:
    return BatchSpanProcessor(NullExporter(), max_queue_size=65536, schedule_delay_millis=200)


def _obs_batch() -> BatchSpanProcessor:
    """What ``obs.configure()`` puts in front of OTLP or the store, with the null exporter."""
    from obs._export_health import BoundedBatchSpanProcessor

    return BoundedBatchSpanProcessor(
        NullExporter(), max_queue_size=65536, schedule_delay_millis=200, label="bench"
    )


_plain: TracerProvider | None = None


def plain_provider() -> TracerProvider:
    global _plain
    if _plain is None:
        _plain = TracerProvider(shutdown_on_exit=False)
        _plain.add_span_processor(_batch())
    return _plain


_lean: TracerProvider | None = None


def lean_provider() -> TracerProvider:
    """obs's lean tracer provider straight onto obs's batch processor (no pipeline: no
    baggage, no scrubbing): the cheapest span there is, for "floor" rows."""
    global _lean
    if _lean is None:
        from obs._lean import LeanTracerProvider

        _lean = LeanTracerProvider(shutdown_on_exit=False)
        _lean.add_span_processor(_obs_batch())
    return _lean


#: Span pipelines of the cases that are not global (a private Logfire's), flushed with the rest.
_extra_providers: list[Any] = []


def flush_spans() -> None:
    """Export every span any case has queued (plain, lean, obs's and private pipelines).

    ``interleaved`` calls it after each case's round, inside its timing: a case pays for
    exporting the spans it made (obs's scrubbing on the export thread included), and the next
    case does not run while the export thread is still busy with them.
    """
    providers = [_plain, _lean, _config._state.tracer_provider, *_extra_providers]
    for provider in providers:
        flush = getattr(provider, "force_flush", None)
        if flush is not None:
            flush()


def use_obs(**options: object) -> None:
    """Configure obs (its pipeline, no console, no OTLP) as the global provider."""
    settings: dict[str, object] = {
        "console": False,
        "otlp": False,
        "store": False,  # its writer thread would compete for the GIL with every case
        "span_processors": [_obs_batch()],
    }
    settings.update(options)
    obs.configure(**settings)  # type: ignore[arg-type]


def use_plain() -> None:
    """Point the global provider at the plain SDK pipeline (for bare and competing tools)."""
    if _config._state.tracer_proxy is None:
        use_obs()
    assert _config._state.tracer_proxy is not None
    _config._state.tracer_proxy.swap(plain_provider())


@dataclass
class Result:
    group: str
    name: str
    samples_us: list[float]
    spans: str = ""
    baseline: bool = False
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.samples_us)


@dataclass
class Group:
    name: str
    unit: str
    results: list[Result] = field(default_factory=list)


def measure(fn: Callable[[], object], ops: int, rounds: int, warmup: int = 1) -> list[float]:
    """µs per operation for each round; ``fn`` performs ``ops`` operations."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(rounds):
        gc.collect()
        start = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - start) / 1000 / ops)
    return samples


def measure_async(
    fn: Callable[[], Awaitable[object]],
    ops: int,
    rounds: int,
    warmup: int = 1,
    loop: asyncio.AbstractEventLoop | None = None,
) -> list[float]:
    own = loop is None
    loop = loop or asyncio.new_event_loop()
    try:
        return measure(lambda: loop.run_until_complete(fn()), ops, rounds, warmup)
    finally:
        if own:
            loop.close()


def interleaved(
    cases: dict[str, Callable[[], object]],
    ops: int,
    rounds: int,
    warmup: int = 1,
    before: dict[str, Callable[[], None]] | None = None,
) -> dict[str, list[float]]:
    """Measure several cases round-robin, so drift (CPU frequency, other load) hits all alike.

    ``before[name]`` runs before each round of that case (e.g. switch the global pipeline).
    Each round ends with every queued span exported (``flush_spans``), inside the round's time.
    """
    before = before or {}
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for name, fn in cases.items():
        before.get(name, lambda: None)()
        for _ in range(warmup):
            fn()
    for _ in range(rounds):
        for name, fn in cases.items():
            before.get(name, lambda: None)()
            flush_spans()  # nothing queued by an earlier case is exported in this one's time
            gc.collect()
            start = time.perf_counter_ns()
            fn()
            flush_spans()  # ... and this case pays for exporting its own spans
            samples[name].append((time.perf_counter_ns() - start) / 1000 / ops)
    return samples


#: The reference span's attributes: issue 14 states its targets against "one bare SDK span,
#: 3 attributes, plain SDK pipeline".
SDK_SPAN_ATTRIBUTES = {"a": 1, "b": "x", "c": 2.5}

#: The name of the reference-span case a group measures among its own cases (paired rounds).
SDK_SPAN_CASE = "sdk span (plain), same rounds"


def sdk_spans(ops: int) -> Callable[[], None]:
    """``ops`` bare SDK spans (start + end, three attributes) on the plain pipeline."""
    tracer = plain_provider().get_tracer("bench")

    def run() -> None:
        for _ in range(ops):
            tracer.start_span("op", attributes=dict(SDK_SPAN_ATTRIBUTES)).end()

    return run


def bare_span_cost(rounds: int, ops: int = 20_000) -> list[float]:
    """One bare SDK span (start + end, three attributes) on the plain pipeline."""
    return measure(sdk_spans(ops), ops, rounds)


def paired(
    values: Sequence[float], bare: Sequence[float], span: Sequence[float]
) -> tuple[float, float]:
    """Median overhead (µs) and median overhead ÷ span, each round paired with its own.

    The cases of one round run back to back, so a round's case, bare host and reference span
    saw the same machine: on a loaded or drifting machine the per-round ratio is steadier
    than the ratio of independent medians.
    """
    over = [v - b for v, b in zip(values, bare, strict=True)]
    ratios = [o / s for o, s in zip(over, span, strict=True)]
    return statistics.median(over), statistics.median(ratios)


def paired_note(values: Sequence[float], bare: Sequence[float], span: Sequence[float]) -> str:
    over, ratio = paired(values, bare, span)
    return (
        f"paired per round: overhead {over:.2f} µs = {ratio:.2f}× the SDK span of the same "
        f"round ({statistics.median(span):.2f} µs)"
    )


def current_tracer() -> trace_api.Tracer:
    return trace_api.get_tracer("bench")


def local_logfire() -> Any:
    """A private Logfire instance on the plain batch pipeline (its own providers, no globals).

    Logfire wraps the global propagator on configure; that is undone so other cases keep theirs.
    """
    import logfire
    from opentelemetry import propagate

    textmap = propagate.get_global_textmap()
    processor = _batch()
    _extra_providers.append(processor)  # flushed by ``flush_spans`` like the global pipelines
    try:
        return logfire.configure(
            local=True,
            send_to_logfire=False,
            console=False,
            metrics=False,
            inspect_arguments=False,
            additional_span_processors=[processor],
        )
    finally:
        propagate.set_global_textmap(textmap)


# -- lean spans: CPU time on the measuring thread, and memory per queued span ---------------


def interleaved_cpu(
    cases: dict[str, Callable[[], object]],
    ops: int,
    rounds: int,
    warmup: int = 1,
    before: dict[str, Callable[[], None]] | None = None,
) -> dict[str, list[float]]:
    """As ``interleaved``, timed by this thread's CPU clock (``time.thread_time_ns``).

    On a machine shared with other work, wall-clock time counts every preemption; the
    thread's CPU time counts what the case itself costs here (the export thread's work,
    which runs concurrently, is not included: the GIL share it takes shows up in
    saturation benchmarks instead).
    """
    before = before or {}
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for name, fn in cases.items():
        before.get(name, lambda: None)()
        for _ in range(warmup):
            fn()
    for _ in range(rounds):
        for name, fn in cases.items():
            before.get(name, lambda: None)()
            gc.collect()
            start = time.thread_time_ns()
            fn()
            samples[name].append((time.thread_time_ns() - start) / 1000 / ops)
    return samples


def queued_span_bytes(make_span: Callable[[], object], spans: int = 5000) -> float:
    """Bytes each ended span holds while it waits in an export queue (tracemalloc).

    ``make_span`` starts and ends one span on a provider whose processor keeps what it is
    given (as a batch processor's queue does until export).
    """
    import tracemalloc

    for _ in range(100):  # caches, interned strings, first-use allocations
        make_span()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(spans):
            make_span()
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return (after - before) / spans
