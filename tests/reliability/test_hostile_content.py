"""Odd values in the content obs captures when asked to: Burr state and action results,
FastAPI endpoint arguments. With every capture switched on, nothing raises, the host returns
exactly what it returns without obs, and what is recorded stays within the documented limits.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from burr.core import ApplicationBuilder, State, action
from fastapi import Depends, FastAPI
from hypothesis import HealthCheck, given, settings

from obs._attributes import MAX_STRING_LENGTH
from obs_burr import ObsHooks
from tests.reliability.test_hostile_input_core import Unfriendly, odd_values

fuzz = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def bounded(span: Any) -> None:
    for key, value in (span.attributes or {}).items():
        if isinstance(value, str):
            assert len(value) <= MAX_STRING_LENGTH + 64, (key, len(value))


@action(reads=["payload"], writes=["payload", "copy"])
def keep(state: State, extra: Any) -> tuple[dict[str, Any], State]:
    payload = state["payload"]
    return {"payload": payload, "extra": extra}, state.update(payload=payload, copy=extra)


def run_burr(payload: Any, extra: Any, *hooks: Any) -> tuple[Any, Any]:
    app = (
        ApplicationBuilder()
        .with_actions(keep=keep)
        .with_transitions()
        .with_entrypoint("keep")
        .with_state(payload=payload)
        .with_hooks(*hooks)
        .build()
    )
    _, result, state = app.run(halt_after=["keep"], inputs={"extra": extra})
    return result, state


@fuzz
@given(payload=odd_values, extra=odd_values)
def test_burr_state_and_results_of_any_type(obs_capture, payload, extra):
    obs_capture.clear()
    result, state = run_burr(payload, extra, ObsHooks(name="odd", capture_content=True))
    # the very objects the action returned: obs recorded copies, never touched these
    assert result["payload"] is payload
    assert result["extra"] is extra
    assert state["payload"] is payload
    assert state["copy"] is extra
    step = obs_capture.one("step keep")
    assert "burr.state" in step.attributes
    assert "burr.inputs" in step.attributes
    for span in obs_capture.spans:
        bounded(span)


def test_burr_huge_and_deep_state(obs_capture):
    deep: Any = "bottom"
    for _ in range(300):
        deep = {"level": deep}
    huge = "é" * 500_000
    _, state = run_burr(
        {"deep": deep, "huge": huge, "unfriendly": Unfriendly(), "raw": b"\xff" * 50_000},
        {1, 2, 3},
        ObsHooks(name="odd", capture_content=True),
    )
    assert state["payload"]["huge"] is huge
    for span in obs_capture.spans:
        bounded(span)


def app_with_odd_dependency(value: Any) -> FastAPI:
    app = FastAPI()

    @app.get("/odd")
    async def odd(dep: Any = Depends(lambda: value)) -> dict[str, str]:  # noqa: B008
        return {"type": type(dep).__name__}

    return app


@fuzz
@given(value=odd_values)
def test_fastapi_arguments_of_any_type(obs_capture, value):
    obs_capture.configure(
        capture_content=True,
        instrument={"fastapi": {"capture_arguments": True, "capture_validation_errors": True}},
    )

    async def call() -> tuple[int, Any]:
        app = app_with_odd_dependency(value)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get("/odd")
            return response.status_code, response.json()

    obs_capture.clear()
    assert asyncio.run(call()) == (200, {"type": type(value).__name__})
    (span,) = [s for s in obs_capture.spans if s.name == "GET /odd"]
    bounded(span)
