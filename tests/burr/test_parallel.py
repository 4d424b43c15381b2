"""Parallel sub-applications (``burr.core.parallelism``): each sub-application's run is a child
of the step that spawned it, whether it ran on an executor thread or in a task.

Burr builds sub-applications itself, without the parent's hooks, so they are traced through
``obs.instrument("burr")``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from burr.core import ApplicationBuilder, State, action, default
from burr.core.parallelism import MapStates

import obs
from obs_burr import ObsHooks


@action(reads=["prompt"], writes=["answer"])
def answer(state: State) -> State:
    obs.info("answering {prompt}", prompt=state["prompt"])
    return state.update(answer=state["prompt"].upper())


@action(reads=["prompt"], writes=["answer"])
async def aanswer(state: State) -> State:
    await asyncio.sleep(0)
    obs.info("answering {prompt}", prompt=state["prompt"])
    return state.update(answer=state["prompt"].upper())


class FanOut(MapStates):
    def __init__(self, is_async: bool = False) -> None:
        super().__init__()
        self._is_async = is_async

    def action(self, state: State, inputs: dict[str, Any]) -> Any:
        return aanswer if self._is_async else answer

    def states(self, state: State, context: Any, inputs: dict[str, Any]) -> Any:
        for prompt in state["prompts"]:
            yield state.update(prompt=prompt)

    def reduce(self, state: State, states: Any) -> State:
        return state.update(answers=[s["answer"] for s in states])

    def is_async(self) -> bool:
        return self._is_async

    @property
    def reads(self) -> list[str]:
        return ["prompts"]

    @property
    def writes(self) -> list[str]:
        return ["answers"]


async def _areduce(self: FanOut, state: State, states: Any) -> State:
    return state.update(answers=[s["answer"] async for s in states])


class AsyncFanOut(FanOut):
    async def reduce(self, state: State, states: Any) -> State:  # type: ignore[override]
        return await _areduce(self, state, states)


@action(reads=[], writes=["prompts"])
def prepare(state: State) -> State:
    return state.update(prompts=["a", "b", "c"])


def fan_out_app(is_async: bool, hooks: ObsHooks | None = None) -> Any:
    builder = (
        ApplicationBuilder()
        .with_actions(prepare=prepare, fan_out=AsyncFanOut(True) if is_async else FanOut())
        .with_transitions(("prepare", "fan_out", default))
        .with_entrypoint("prepare")
        .with_identifiers(app_id="parent")
    )
    if hooks is not None:
        builder = builder.with_hooks(hooks)
    return builder.build()


def assert_sub_apps_under_the_spawning_step(obs_capture) -> None:
    assert len(obs_capture.traces()) == 1
    step = obs_capture.one("step fan_out")
    runs = [
        s
        for s in obs_capture.spans
        if s.name.startswith("invoke_workflow") and s.attributes["burr.app_id"] != "parent"
    ]
    assert len(runs) == 3
    for run in runs:
        assert obs_capture.parent(run) is step
        assert run.attributes["burr.spawning_parent.app_id"] == "parent"
        assert (
            run.attributes["burr.spawning_parent.sequence_id"]
            == step.attributes["burr.sequence_id"]
        )
        (child,) = obs_capture.children(run)
        assert child.name in ("step answer", "step aanswer")
        assert [c.name for c in obs_capture.children(child)] == ["answering {prompt}"]


def test_parallel_sub_applications_on_threads(obs_capture):
    obs.instrument("burr", name="agent")
    _, _, state = fan_out_app(is_async=False).run(halt_after=["fan_out"])
    assert state["answers"] == ["A", "B", "C"]
    assert_sub_apps_under_the_spawning_step(obs_capture)
    assert obs_capture.one("invoke_workflow agent", **{"burr.app_id": "parent"})


async def test_parallel_sub_applications_in_tasks(obs_capture):
    obs.instrument("burr")
    _, _, state = await fan_out_app(is_async=True, hooks=ObsHooks(name="agent")).arun(
        halt_after=["fan_out"]
    )
    assert sorted(state["answers"]) == ["A", "B", "C"]
    assert_sub_apps_under_the_spawning_step(obs_capture)
    # the explicit hooks were not doubled by the integration
    assert len(obs_capture.find("step fan_out")) == 1


@pytest.mark.parametrize("is_async", [False, True])
async def test_sub_applications_without_the_integration_are_not_traced(obs_capture, is_async):
    app = fan_out_app(is_async=is_async, hooks=ObsHooks(name="agent"))
    if is_async:
        await app.arun(halt_after=["fan_out"])
    else:
        app.run(halt_after=["fan_out"])
    assert obs_capture.tree(logs=False) == [
        "invoke_workflow agent",
        "  step prepare",
        "  step fan_out",
    ]
