"""What a step span takes from its action is computed once per action object, and bounded."""

from __future__ import annotations

from typing import Any

import pytest
from burr.core import ApplicationBuilder, State, action, default

from obs.instrumentation import BoundedCache
from obs_burr import ObsHooks, _base
from tests.burr.apps import counter


def _one_step_app(hooks: ObsHooks, step: Any, app_id: str) -> Any:
    return (
        ApplicationBuilder()
        .with_actions(work=step)
        .with_transitions(("work", "work", default))
        .with_state(n=0)
        .with_entrypoint("work")
        .with_identifiers(app_id=app_id)
        .with_hooks(hooks)
        .build()
    )


@action(reads=["n"], writes=["n"])
def plain(state: State) -> State:
    return state.update(n=state["n"] + 1)


@action(reads=["n"], writes=["n", "m"], tags=["tool"])
def tool(state: State) -> State:
    return state.update(n=state["n"] + 1, m=1)


def test_actions_of_the_same_name_keep_their_own_attributes(obs_capture):
    """Keyed by the action object, not its name: two applications' ``work`` actions differ."""
    hooks = ObsHooks()
    _one_step_app(hooks, plain, "a").run(halt_after=["work"])
    _one_step_app(hooks, tool, "b").run(halt_after=["work"])
    _one_step_app(hooks, plain, "c").run(halt_after=["work"])

    step_a, step_c = obs_capture.find("step work")
    used_tool = obs_capture.one("execute_tool work")
    assert step_a.attributes["burr.writes"] == ("n",)
    assert step_c.attributes["burr.app_id"] == "c"
    assert used_tool.attributes["burr.writes"] == ("n", "m")
    assert used_tool.attributes["gen_ai.tool.name"] == "work"
    assert "gen_ai.tool.name" not in step_a.attributes
    # The app id and sequence id come first, as they always did (the OTLP bytes keep order).
    assert list(step_c.attributes)[:4] == [
        "burr.app_id",
        "burr.sequence_id",
        "burr.action",
        "burr.writes",
    ]


def test_the_per_action_cache_is_bounded(obs_capture):
    hooks = ObsHooks()
    hooks._step_statics = BoundedCache(2)
    for i in range(5):
        _one_step_app(hooks, plain, f"app-{i}").run(halt_after=["work"])
    assert len(hooks._step_statics) == 2
    assert [s.attributes["burr.app_id"] for s in obs_capture.find("step work")] == [
        f"app-{i}" for i in range(5)
    ]


def test_steps_are_current_through_the_api_with_another_runtime_context(
    obs_capture, monkeypatch: pytest.MonkeyPatch
):
    """Without the ContextVar fast path (another runtime context), the API's attach is used."""
    from obs_burr import _steps

    monkeypatch.setattr(_base, "CONTEXT_VAR", None)
    monkeypatch.setattr(_steps, "CONTEXT_VAR", None)
    counter(ObsHooks(name="counter"), app_id="app-1").run(halt_after=["finish"])
    assert obs_capture.tree() == [
        "invoke_workflow counter",
        "  step inc",
        "    inc {n}",
        "  step inc",
        "    inc {n}",
        "  step finish",
        "    prepare",
        "      lookup",
        "        deep inside",
    ]
