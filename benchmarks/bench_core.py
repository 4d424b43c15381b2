"""Core: one bare SDK span vs lean spans, obs.span and obs.info, scrubbing, memory per span.

The reference for the lean-span targets is ``sdk start_span, 3 attributes (plain)``: an SDK
span with three attributes on the plain pipeline (batch processor, null exporter), measured in
the same run. Times are CPU time on the measuring thread (``interleaved_cpu``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from opentelemetry import context as context_api
from opentelemetry import trace as trace_api
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider

import obs
from benchmarks._harness import (
    Group,
    Result,
    _batch,
    interleaved_cpu,
    plain_provider,
    queued_span_bytes,
    use_obs,
)
from obs._lean import LeanTracerProvider

OPS = 10_000
ATTRS = {"a": 1, "b": "x", "c": 2.5}
REFERENCE = "sdk start_span, 3 attributes (plain)"


class Keep(SpanProcessor):
    """Holds every ended span, as an export queue does until the batch is sent."""

    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def on_end(self, span: ReadableSpan) -> None:
        self.spans.append(span)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True

    def shutdown(self) -> None:
        self.spans.clear()


def _memory() -> dict[str, float]:
    out: dict[str, float] = {}
    for label, cls in (("sdk", TracerProvider), ("lean", LeanTracerProvider)):
        provider = cls(shutdown_on_exit=False)
        keep = Keep()
        provider.add_span_processor(keep)
        tracer = provider.get_tracer("memory")

        def one(tracer: trace_api.Tracer = tracer) -> None:
            tracer.start_span("op", attributes=ATTRS).end()

        out[label] = queued_span_bytes(one)
        keep.shutdown()
    return out


def _lean_plain() -> trace_api.Tracer:
    provider = LeanTracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(_batch())
    return provider.get_tracer("bench")


def bench(rounds: int, sdk_span: Result) -> list[Group]:
    plain = plain_provider().get_tracer("bench")
    lean = _lean_plain()
    use_obs()
    on_obs = trace_api.get_tracer("bench")

    def sdk_start_span() -> None:
        for _ in range(OPS):
            plain.start_span("op", attributes=ATTRS).end()

    def sdk_current() -> None:
        for _ in range(OPS):
            with plain.start_as_current_span("op", attributes=ATTRS):
                pass

    def lean_start_span() -> None:
        for _ in range(OPS):
            lean.start_span("op", attributes=ATTRS).end()

    def lean_current() -> None:
        for _ in range(OPS):
            with lean.start_as_current_span("op", attributes=ATTRS):
                pass

    def tracer_on_obs_pipeline() -> None:
        for _ in range(OPS):
            on_obs.start_span("op", attributes=ATTRS).end()

    def obs_span() -> None:
        for _ in range(OPS):
            with obs.span("op", a=1, b="x", c=2.5):
                pass

    def obs_info() -> None:
        for _ in range(OPS):
            obs.info("user {name} created", name="alice", user_id=42)

    def obs_info_secret() -> None:
        for _ in range(OPS):
            obs.info(
                "login {user}", user="alice", password="hunter2", header="Bearer abcdefgh12345678"
            )

    cases = {
        REFERENCE: sdk_start_span,
        "sdk start_as_current_span (plain)": sdk_current,
        "lean start_span, 3 attributes (plain)": lean_start_span,
        "lean start_as_current_span (plain)": lean_current,
        "tracer span on obs pipeline": tracer_on_obs_pipeline,
        "obs.span": obs_span,
        "obs.info": obs_info,
        "obs.info with 2 secrets scrubbed": obs_info_secret,
    }
    samples = interleaved_cpu(cases, OPS, rounds)
    use_obs(scrubbing=False)
    no_scrub = interleaved_cpu({"obs.span, scrubbing off": obs_span}, OPS, rounds)
    os.environ["OBS_LEAN_SPANS"] = "0"
    try:
        use_obs()
        on_sdk = interleaved_cpu(
            {"obs.span on the SDK's provider (OBS_LEAN_SPANS=0)": obs_span}, OPS, rounds
        )
    finally:
        del os.environ["OBS_LEAN_SPANS"]
    use_obs()
    group = Group("core", "span")
    group.results.append(
        Result("core", "sdk span (plain, wall clock)", sdk_span.samples_us, "1", baseline=False)
    )
    reference = sorted(samples[REFERENCE])[len(samples[REFERENCE]) // 2]
    for name, values in {**samples, **no_scrub, **on_sdk}.items():
        median = sorted(values)[len(values) // 2]
        note = "" if name == REFERENCE else f"{median / reference:.2f}× the 3-attribute SDK span"
        group.results.append(Result("core", name, values, "1", note=note))
    memory = _memory()
    group.results[-1].note += (
        f"\n{'':<14}memory per queued span (tracemalloc): SDK {memory['sdk']:.0f} B, "
        f"lean {memory['lean']:.0f} B"
    )
    assert context_api.get_current() is not None
    return [group, _trimming(rounds), _encoding(rounds)]


def _encoding(rounds: int) -> Group:
    """OTLP encoding per span, on a batch of 512: the reference encoder vs obs's writer."""
    from obs._otlp.encode import SpanWriter
    from obs._otlp.exporter import reference_dialect, reference_encode

    provider = LeanTracerProvider(shutdown_on_exit=False)
    keep = Keep()
    provider.add_span_processor(keep)
    tracer = provider.get_tracer("encode", "1.0")
    server = {
        "http.request.method": "GET",
        "url.scheme": "http",
        "url.path": "/items/42",
        "url.query": "q=hello",
        "network.protocol.version": "1.1",
        "server.address": "testserver",
        "server.port": 80,
        "client.address": "127.0.0.1",
        "user_agent.original": "bench/1.0",
        "http.response.status_code": 200,
        "http.route": "/items/{item_id}",
        "fastapi.route.name": "read_item",
        "code.function.name": "app.read_item",
        "obs.level_num": 9,
    }
    for i in range(512):
        tracer.start_span("op", attributes={"a": i, "b": "x", "c": 2.5}).end()
    small = list(keep.spans)
    keep.spans.clear()
    for i in range(512):
        tracer.start_span("GET /items/{item_id}", attributes={**server, "n": i}).end()
    big = list(keep.spans)
    writer = SpanWriter(reference_dialect())
    batch = 512

    def case(
        encode: Callable[[Sequence[ReadableSpan]], bytes], spans: list[ReadableSpan]
    ) -> Callable[[], None]:
        def run() -> None:
            encode(spans)

        return run

    samples = interleaved_cpu(
        {
            "reference encoder, 3 attributes": case(reference_encode, small),
            "obs writer, 3 attributes": case(writer.encode, small),
            "reference encoder, 15-attribute server span": case(reference_encode, big),
            "obs writer, 15-attribute server span": case(writer.encode, big),
        },
        batch,
        rounds,
    )
    return _paired("encode", "span", samples)


def _trimming(rounds: int) -> Group:
    """The per-request helpers the integrations can use (each against what it replaces)."""
    from opentelemetry import baggage, propagate

    from obs import _traceparent
    from obs._lean.context import baggage_entries

    carrier = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
    header = carrier["traceparent"]

    def extract() -> None:
        for _ in range(OPS):
            propagate.extract(carrier)

    def parse() -> None:
        for _ in range(OPS):
            parent = _traceparent.parse(header)
            assert parent is not None
            _traceparent.context_with_parent(parent)

    def get_all() -> None:
        for _ in range(OPS):
            baggage.get_all()

    def entries() -> None:
        for _ in range(OPS):
            baggage_entries()

    samples = interleaved_cpu(
        {
            "propagate.extract (traceparent)": extract,
            "obs._traceparent.parse + context": parse,
            "baggage.get_all()": get_all,
            "obs._lean.context.baggage_entries()": entries,
        },
        OPS,
        rounds,
    )
    return _paired("trimming", "call", samples)


def _paired(name: str, unit: str, samples: dict[str, list[float]]) -> Group:
    """Rows in pairs (what is replaced, then obs's replacement); the second says how much cheaper."""
    group = Group(name, unit)
    rows = list(samples.items())
    for i, (case, values) in enumerate(rows):
        note = ""
        if i % 2:
            before = sorted(rows[i - 1][1])[len(values) // 2]
            after = sorted(values)[len(values) // 2]
            note = f"{before / after:.1f}× cheaper than the row above (not a baseline: no overhead)"
        group.results.append(Result(name, case, values, "", note=note))
    return group
