"""No double and no silent missing spans, however obs got onto a host.

Each case is a bug of the old integrations: FastStream's documented ``broker.add_middleware``
beside ``instrument=True`` doubled every span; ``instrument=True`` after an app or broker
existed did nothing (and FastAPI's native telemetry then emitted its own spans); Burr's
``OpenTelemetryBridge`` beside obs's hooks recorded every span twice.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import pytest

import obs
import obs.testing
from obs.testing import Capture
from tests.conftest import require_service
from tests.faststream.conftest import settle, unique, wait


def _listen(broker: Any, prefix: str) -> tuple[str, asyncio.Event]:
    """A subscriber on a new channel; the event is set when it got a message."""
    channel = unique(prefix)
    done = asyncio.Event()

    @broker.subscriber(channel)
    async def handle(body: str) -> None:
        done.set()

    return channel, done


async def _round_trip(broker: Any, capture: Capture, channel: str, done: asyncio.Event) -> None:
    """Publish one message through real Redis and wait until its process span ended."""
    async with broker:
        await broker.start()
        await broker.publish("x", channel)
        await wait(done)
        await settle(capture, f"process {channel}")


async def test_add_middleware_beside_instrument_true_gives_one_span_each(
    obs_capture: Capture,
) -> None:
    require_service("redis")
    from faststream.redis import RedisBroker

    from obs_faststream.redis import RedisTelemetryMiddleware

    obs_capture.configure(instrument=["faststream"])
    broker = RedisBroker("redis://127.0.0.1:6379")
    broker.add_middleware(RedisTelemetryMiddleware())  # as in FastStream's documentation
    channel, done = _listen(broker, "double")
    await _round_trip(broker, obs_capture, channel, done)
    assert sorted(s.name for s in obs_capture.spans) == [f"process {channel}", f"send {channel}"]


async def test_a_broker_made_before_instrument_is_instrumented(obs_capture: Capture) -> None:
    require_service("redis")
    from faststream.redis import RedisBroker

    broker = RedisBroker("redis://127.0.0.1:6379")
    channel, done = _listen(broker, "early")
    obs_capture.configure(instrument=True)
    await _round_trip(broker, obs_capture, channel, done)
    assert sorted(s.name for s in obs_capture.spans) == [f"process {channel}", f"send {channel}"]


async def test_the_faststream_propagation_override_is_applied(obs_capture: Capture) -> None:
    require_service("redis")
    from faststream.redis import RedisBroker

    obs_capture.configure(instrument={"faststream": {"propagation": "ignore"}})
    broker = RedisBroker("redis://127.0.0.1:6379")
    channel, done = _listen(broker, "policy")
    await _round_trip(broker, obs_capture, channel, done)
    process = obs_capture.one(f"process {channel}")
    send = obs_capture.one(f"send {channel}")
    assert process.context is not None
    assert send.context is not None
    assert process.context.trace_id != send.context.trace_id  # "ignore": a trace of its own
    assert not process.links


async def test_a_fastapi_app_made_before_instrument_gets_one_span_not_four(
    obs_capture: Capture,
) -> None:
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"item_id": item_id}

    obs_capture.configure(instrument=True)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.get("/items/1")).json() == {"item_id": 1}
    assert [s.name for s in obs_capture.spans] == ["GET /items/{item_id}"]


def test_burr_bridge_beside_obs_hooks_gives_one_span_per_tracer_call(
    obs_capture: Capture, caplog: pytest.LogCaptureFixture
) -> None:
    from burr.core import ApplicationBuilder, State, action, default
    from burr.integrations.opentelemetry import OpenTelemetryBridge

    @action(reads=["n"], writes=["n"])
    def inc(state: State, __tracer: Any) -> State:
        with __tracer("lookup"):
            pass
        return state.update(n=state["n"] + 1)

    caplog.set_level(logging.WARNING, logger="obs")
    obs.instrument("burr", name="bridged")
    app = (
        ApplicationBuilder()
        .with_actions(inc=inc)
        .with_transitions(("inc", "inc", default))
        .with_state(n=0)
        .with_entrypoint("inc")
        .with_hooks(OpenTelemetryBridge())
        .build()
    )
    app.run(halt_after=["inc"])
    assert sorted(s.name for s in obs_capture.spans) == [
        "invoke_workflow bridged",
        "lookup",
        "step inc",
    ]
    assert "OpenTelemetryBridge" in caplog.text


def test_burr_applications_built_before_are_named_once(
    obs_capture: Capture, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.burr.apps import counter

    early = counter(steps=1)
    caplog.set_level(logging.WARNING, logger="obs")
    obs.testing.reset_diagnostics()
    obs.instrument("burr")
    assert f"Burr application {early.uid} was built before" in caplog.text
