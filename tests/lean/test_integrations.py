"""The four integrations' real spans: the same bytes on SDK spans and on lean spans.

Each workload runs twice under ``obs.configure()`` (scrubbing, baggage, the integrations'
own code): once with ``OBS_LEAN_SPANS=0`` (the SDK's provider) and once with the lean one,
with counting span and trace ids and a counting clock.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk import trace as sdk_trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator

import obs
from obs._lean import LeanTracerProvider
from obs._lean import span as lean_span_module
from obs._lean import tracer as lean_tracer_module
from obs._otlp.exporter import reference_encode
from obs.testing import Capture
from tests.conftest import require_service
from tests.lean.twins import assert_same_bytes, without_sdk_frames, writer_bytes


def _run(
    lean: bool, workload: Callable[[], None], monkeypatch: pytest.MonkeyPatch
) -> list[ReadableSpan]:
    with monkeypatch.context() as patch:
        patch.setenv("OBS_LEAN_SPANS", "1" if lean else "0")
        ticks = itertools.count(1_700_000_000_000_000_000, 1000)

        def clock() -> int:
            return next(ticks)

        for module in (sdk_trace, lean_span_module, lean_tracer_module, time):
            patch.setattr(module, "time_ns", clock)
        # Ids from counters: hosts may draw from the global random generator themselves.
        span_ids, trace_ids = itertools.count(1), itertools.count(1 << 100)
        patch.setattr(RandomIdGenerator, "generate_span_id", lambda self: next(span_ids))
        patch.setattr(RandomIdGenerator, "generate_trace_id", lambda self: next(trace_ids))
        capture = Capture()
        handle = capture.configure(service_name="twins")
        assert isinstance(handle.tracer_provider, LeanTracerProvider) is lean
        try:
            workload()
            capture.flush()
            return capture.spans
        finally:
            capture.close()


def assert_integration_twins(
    workload: Callable[[], None], monkeypatch: pytest.MonkeyPatch, masked: tuple[str, ...] = ()
) -> list[ReadableSpan]:
    """Same bytes; ``masked`` attributes (a host's own counters and timings) are blanked."""
    sdk_spans = _run(False, workload, monkeypatch)
    lean_spans = _run(True, workload, monkeypatch)
    assert [s.name for s in lean_spans] == [s.name for s in sdk_spans]
    if not masked:
        assert_same_bytes(sdk_spans, lean_spans)
        return lean_spans
    assert writer_bytes(lean_spans) == reference_encode(lean_spans)
    sdk_bytes = _mask(without_sdk_frames(reference_encode(sdk_spans)), masked)
    assert _mask(without_sdk_frames(reference_encode(lean_spans)), masked) == sdk_bytes
    return lean_spans


def _mask(encoded: bytes, keys: tuple[str, ...]) -> bytes:
    request = ExportTraceServiceRequest.FromString(encoded)
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                for attribute in span.attributes:
                    if attribute.key in keys:
                        attribute.value.string_value = "masked"
    return request.SerializeToString()  # type: ignore[no-any-return]


def test_fastapi_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    import obs_fastapi
    from tests.fastapi.conftest import Boom, build_app, client

    def workload() -> None:
        app = build_app()
        obs_fastapi.instrument_app(app)

        async def requests() -> None:
            async with client(app) as c:
                await c.get("/items/7?q=x", headers={"traceparent": _TRACEPARENT})
                await c.post("/login", json={"user": "ada", "password": "hunter2"})
                await c.get("/missing")
                await c.get("/unavailable")
                with pytest.raises(Boom):
                    await c.get("/boom")

        asyncio.run(requests())

    spans = assert_integration_twins(workload, monkeypatch)
    assert len(spans) >= 5


_TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def test_burr_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    from obs_burr import ObsHooks
    from tests.burr.apps import counter

    def workload() -> None:
        counter(ObsHooks(name="counter"), app_id="app-1").run(halt_after=["finish"])

    spans = assert_integration_twins(workload, monkeypatch)
    assert any(s.name.startswith("step") for s in spans)


def test_openai_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    import obs_openai
    from obs_openai.testing import stand_in_client

    messages: Any = [{"role": "user", "content": "Say hello"}]

    def workload() -> None:
        obs_openai.instrument_openai()
        try:
            client = stand_in_client(max_retries=0)
            with obs.span("caller"):
                client.chat.completions.create(model="gpt-4o-mini", messages=messages)
                stream = client.chat.completions.create(
                    model="gpt-4o-mini", messages=messages, stream=True
                )
                for _ in stream:
                    pass
        finally:
            obs_openai.uninstrument_openai()

    masked = ("gen_ai.response.id", "gen_ai.response.time_to_first_chunk")
    spans = assert_integration_twins(workload, monkeypatch, masked)
    assert any(s.name.startswith("chat") for s in spans)


def test_faststream_on_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    require_service("redis")
    import uuid

    from faststream.redis import RedisBroker

    from obs_faststream.redis import RedisTelemetryMiddleware

    channel = f"lean-twins-{uuid.uuid4().hex}"

    def workload() -> None:
        async def run() -> None:
            broker = RedisBroker("redis://127.0.0.1:6379", middlewares=[RedisTelemetryMiddleware()])
            done = asyncio.Event()
            seen: list[int] = []

            @broker.subscriber(list=channel)
            async def handle(body: dict[str, Any]) -> None:
                seen.append(body["n"])
                if len(seen) == 3:
                    done.set()

            async with broker:
                await broker.start()
                for n in range(3):
                    await broker.publish({"n": n}, list=channel)
                await asyncio.wait_for(done.wait(), 10)
                await asyncio.sleep(0.05)

        asyncio.run(run())

    sdk_spans = _run(False, workload, monkeypatch)
    lean_spans = _run(True, workload, monkeypatch)
    # Message ids and timing-dependent ordering differ between two real broker runs, so the
    # spans are compared as sets of (name, kind, attribute keys), and each run's lean bytes
    # are checked against the reference encoder.
    assert sorted(_shape(s) for s in lean_spans) == sorted(_shape(s) for s in sdk_spans)
    assert_same_bytes(lean_spans, lean_spans)


def _shape(span: ReadableSpan) -> tuple[Any, ...]:
    return (span.name.split(":")[0], span.kind, tuple(sorted(span.attributes or {})))
