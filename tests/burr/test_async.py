"""Async applications: the step span is current inside async actions; failures re-raised."""

from __future__ import annotations

import asyncio

import pytest
from opentelemetry.trace import StatusCode, get_current_span

import obs
from obs_burr import ObsHooks
from tests.burr.apps import ActionFailed, async_counter, failing


async def test_arun_nests_async_work_under_each_step(obs_capture):
    app = async_counter(ObsHooks(name="a"), steps=2, app_id="async-1")
    await app.arun(halt_after=["inc"])

    assert obs_capture.tree() == [
        "invoke_workflow a",
        "  step ainc",
        "    async work",
        "  step ainc",
        "    async work",
        "  step inc",
        "    inc {n}",
    ]
    run = obs_capture.one("invoke_workflow a")
    assert run.attributes["burr.method"] == "arun"
    assert run.attributes["burr.app_id"] == "async-1"
    assert len(obs_capture.traces()) == 1
    assert not get_current_span().get_span_context().is_valid


async def test_astep(obs_capture):
    app = async_counter(ObsHooks(name="a"))
    await app.astep()
    assert obs_capture.tree(logs=False) == ["invoke_workflow a", "  step ainc", "    async work"]
    assert obs_capture.one("invoke_workflow a").attributes["burr.method"] == "astep"


async def test_aiterate_under_a_caller_span(obs_capture):
    app = async_counter(ObsHooks(name="a"), steps=1)
    with obs.span("turn"):
        async for _ in app.aiterate(halt_after=["inc"]):
            pass
    assert obs_capture.tree(logs=False) == [
        "turn",
        "  invoke_workflow a",
        "    step ainc",
        "      async work",
        "  invoke_workflow a",
        "    step inc",
    ]


@pytest.mark.parametrize("is_async", [True, False], ids=["async action", "sync action"])
async def test_a_failing_action_in_an_async_app(obs_capture, is_async):
    app = failing(ObsHooks(name="f"), is_async=is_async)
    with pytest.raises(ActionFailed):
        await app.arun(halt_after=["explode"])
    step = obs_capture.one("step explode")
    assert step.status.status_code is StatusCode.ERROR
    assert step.attributes["error.type"] == "tests.burr.apps.ActionFailed"
    assert obs_capture.one("invoke_workflow f").status.status_code is StatusCode.ERROR
    assert not get_current_span().get_span_context().is_valid


async def test_tracer_spans_in_an_async_action(obs_capture):
    from typing import Any

    from burr.core import ApplicationBuilder, State, action

    @action(reads=[], writes=["x"])
    async def fetch(state: State, __tracer: Any) -> State:
        async with __tracer("download"):
            await asyncio.sleep(0)
            async with __tracer("parse"):
                obs.info("parsed")
        return state.update(x=1)

    app = (
        ApplicationBuilder()
        .with_actions(fetch=fetch)
        .with_transitions()
        .with_entrypoint("fetch")
        .with_hooks(ObsHooks(name="f"))
        .build()
    )
    await app.arun(halt_after=["fetch"])
    assert obs_capture.tree() == [
        "invoke_workflow f",
        "  step fetch",
        "    download",
        "      parse",
        "        parsed",
    ]
