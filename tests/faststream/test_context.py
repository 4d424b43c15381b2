"""Propagation through the global propagators and policy, baggage, naming, metrics (Redis)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from faststream.opentelemetry import CurrentBaggage, CurrentSpan
from faststream.redis import RedisBroker
from faststream.redis.annotations import RedisMessage
from opentelemetry import propagate, trace
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.propagators.textmap import TextMapPropagator
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

import obs
from obs_faststream.redis import RedisTelemetryMiddleware
from tests.conftest import require_service
from tests.faststream.conftest import assert_child, settle, unique, wait

URL = "redis://127.0.0.1:6379"


@pytest.fixture(autouse=True)
def _redis() -> None:
    require_service("redis")


def make_broker(**options: Any) -> RedisBroker:
    return RedisBroker(URL, middlewares=[RedisTelemetryMiddleware(**options)], logger=None)


class _RenamedTraceContext(TextMapPropagator):
    """W3C trace context under another header name: proves the global propagator is used."""

    _inner = TraceContextTextMapPropagator()

    def extract(self, carrier: Any, context: Any = None, getter: Any = None) -> Any:
        value = getter.get(carrier, "x-trace") if getter else None
        if not value:
            return context if context is not None else trace.set_span_in_context(trace.INVALID_SPAN)
        return self._inner.extract({"traceparent": value[0]}, context)

    def inject(self, carrier: Any, context: Any = None, setter: Any = None) -> None:
        inner: dict[str, str] = {}
        self._inner.inject(inner, context)
        if "traceparent" in inner and setter is not None:
            setter.set(carrier, "x-trace", inner["traceparent"])

    @property
    def fields(self) -> set[str]:
        return {"x-trace"}


@pytest.fixture
def renamed_propagator() -> Iterator[None]:
    previous = propagate.get_global_textmap()
    propagate.set_global_textmap(CompositePropagator([_RenamedTraceContext()]))
    try:
        yield
    finally:
        propagate.set_global_textmap(previous)


async def test_global_propagator_is_used(obs_capture: Any, renamed_propagator: None) -> None:
    broker = make_broker()
    name = unique()
    headers: list[dict[str, Any]] = []
    done = asyncio.Event()

    @broker.subscriber(list=name)
    async def handle(body: str, message: RedisMessage) -> None:
        headers.append(dict(message.headers))
        done.set()

    async with broker:
        await broker.start()
        await broker.publish("x", list=name)
        await wait(done)
        await settle(obs_capture, f"process {name}")

    assert "x-trace" in headers[0]
    assert "traceparent" not in headers[0]  # no hard-coded W3C propagator behind its back
    send = obs_capture.one(f"send {name}")
    assert_child(obs_capture, obs_capture.one(f"process {name}"), send)


async def test_w3c_headers_are_read_and_written_without_the_propagator_stack(
    obs_capture: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under the default W3C propagators a message's canonical ``traceparent`` (among its other
    headers) is parsed and written by obs's fast path; the trace is joined as before."""
    broker = make_broker()
    name = unique()
    done = asyncio.Event()

    @broker.subscriber(list=name)
    async def handle(body: str) -> None:
        done.set()

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("went through the propagator stack")

    async with broker:
        await broker.start()
        monkeypatch.setattr(propagate, "extract", refuse)
        monkeypatch.setattr(propagate, "inject", refuse)
        await broker.publish("x", list=name, correlation_id="c-1")
        await wait(done)
        monkeypatch.undo()
        await settle(obs_capture, f"process {name}")

    send = obs_capture.one(f"send {name}")
    process = obs_capture.one(f"process {name}")
    assert_child(obs_capture, process, send)
    assert [link.context.span_id for link in process.links] == [send.context.span_id]


async def test_link_policy_starts_a_new_linked_trace(obs_capture: Any) -> None:
    obs_capture.configure(propagation="link")
    broker = make_broker()
    name = unique()
    done = asyncio.Event()

    @broker.subscriber(list=name)
    async def handle(body: str) -> None:
        done.set()

    async with broker:
        await broker.start()
        await broker.publish("x", list=name)
        await wait(done)
        await settle(obs_capture, f"process {name}")

    send = obs_capture.one(f"send {name}")
    process = obs_capture.one(f"process {name}")
    assert process.parent is None
    assert process.context.trace_id != send.context.trace_id
    assert [link.context.span_id for link in process.links] == [send.context.span_id]


async def test_baggage_travels_and_current_baggage_changes_propagate(obs_capture: Any) -> None:
    broker = make_broker()
    first, second = unique("a"), unique("b")
    seen: dict[str, Any] = {}
    done = asyncio.Event()

    @broker.subscriber(list=first)
    async def step(body: str, baggage: CurrentBaggage, span: CurrentSpan) -> None:
        seen["first"] = obs.get_baggage()
        seen["span"] = span.get_span_context().span_id
        seen["current"] = trace.get_current_span().get_span_context().span_id
        baggage.set("stage", "two")
        await broker.publish("next", list=second)

    @broker.subscriber(list=second)
    async def last(body: str) -> None:
        seen["second"] = obs.get_baggage()
        done.set()

    async with broker:
        await broker.start()
        with obs.baggage(tenant="acme"):
            await broker.publish("go", list=first)
        await wait(done)
        await settle(obs_capture, f"process {second}")

    assert seen["first"] == {"tenant": "acme"}
    assert seen["second"] == {"tenant": "acme", "stage": "two"}
    assert seen["span"] == seen["current"] == obs_capture.one(f"process {first}").context.span_id
    # obs's pipeline copies baggage onto spans started in the handler's context
    assert (obs_capture.one(f"process {first}").attributes or {})["tenant"] == "acme"


async def test_tracer_can_be_renamed_and_metrics_follow_conventions(obs_capture: Any) -> None:
    broker = make_broker(tracer=obs.tracer("billing.messaging"))
    name = unique()
    done = asyncio.Event()

    @broker.subscriber(list=name)
    async def handle(body: str) -> None:
        done.set()

    async with broker:
        await broker.start()
        await broker.publish_batch("a", "b", list=name)
        await broker.publish("c", list=name)
        await wait(done)
        await settle(obs_capture, f"process {name}", count=3)

    assert {s.instrumentation_scope.name for s in obs_capture.spans} == {"billing.messaging"}
    # the duration points went through each destination's bound handle, straight to the SDK's
    # aggregations (the counts below are what they recorded)
    from obs._bound_metrics import fast_path_in_use

    middleware = next(m for m in broker.middlewares if isinstance(m, RedisTelemetryMiddleware))
    shared = middleware._shared
    targets = [shared.send_targets.get(name), shared.process_targets.get((name, None))]
    assert all(t is not None and fast_path_in_use(t.duration) for t in targets)
    metrics = obs_capture.metrics()
    sends = [
        p
        for p in metrics["messaging.client.operation.duration"]
        if p.attributes["messaging.destination.name"] == name
    ]
    assert sum(p.count for p in sends) == 2
    assert sends[0].attributes["messaging.operation.name"] == "send"
    sent = [
        p
        for p in metrics["messaging.client.sent.messages"]
        if p.attributes["messaging.destination.name"] == name
    ]
    assert sum(p.value for p in sent) == 3
    consumed = [
        p
        for p in metrics["messaging.client.consumed.messages"]
        if p.attributes["messaging.destination.name"] == name
    ]
    assert sum(p.value for p in consumed) == 3
    processed = [
        p
        for p in metrics["messaging.process.duration"]
        if p.attributes["messaging.destination.name"] == name
    ]
    assert sum(p.count for p in processed) == 3
