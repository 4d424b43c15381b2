"""Inputs, results and state values: recorded only on opt-in, and scrubbed when recorded."""

from __future__ import annotations

import json
from typing import Any

from burr.core import ApplicationBuilder, State, action

from obs_burr import ObsHooks

SECRET = "sk-abcdefghijklmnopqrstuvwx"


@action(reads=["history"], writes=["history", "credentials"])
def respond(state: State, question: str, __tracer: Any) -> tuple[dict[str, Any], State]:
    __tracer.log_attributes(model="tiny")
    with __tracer("think") as span:
        span.log_attributes(tokens=3)
    answer = f"answer to {question}"
    result = {"answer": answer}
    return result, state.update(
        history=[*state["history"], answer], credentials={"api_key": SECRET, "user": "ann"}
    )


def chat(hooks: ObsHooks) -> Any:
    return (
        ApplicationBuilder()
        .with_actions(respond=respond)
        .with_transitions()
        .with_state(history=["hello"])
        .with_entrypoint("respond")
        .with_hooks(hooks)
        .build()
    )


CONTENT_KEYS = {"burr.inputs", "burr.result", "burr.state"}


def test_nothing_private_is_recorded_by_default(obs_capture):
    chat(ObsHooks()).run(halt_after=["respond"], inputs={"question": "why?"})
    step = obs_capture.one("step respond")
    assert not CONTENT_KEYS & set(step.attributes)
    assert "model" not in step.attributes
    assert "tokens" not in obs_capture.one("think").attributes
    assert step.attributes["burr.writes"] == ("history", "credentials")


def test_opt_in_records_inputs_results_and_written_state_scrubbed(obs_capture):
    obs_capture.configure(capture_content=True)
    chat(ObsHooks()).run(halt_after=["respond"], inputs={"question": "why?"})

    step = obs_capture.one("step respond")
    assert json.loads(step.attributes["burr.inputs"]) == {"question": "why?"}
    assert json.loads(step.attributes["burr.result"]) == {"answer": "answer to why?"}
    state = json.loads(step.attributes["burr.state"])
    assert state["history"] == ["hello", "answer to why?"]
    # everything under a secret name goes, the container included
    assert state["credentials"] == "[scrubbed: credential]"
    assert SECRET not in step.attributes["burr.state"]
    assert step.attributes["obs.scrubbed"]
    # what the action logged through Burr's tracer
    assert step.attributes["model"] == "tiny"
    assert obs_capture.one("think").attributes["tokens"] == 3


def test_per_hooks_switch_overrides_the_global_one(obs_capture):
    obs_capture.configure(capture_content=True)
    chat(ObsHooks(capture_content=False)).run(halt_after=["respond"], inputs={"question": "q"})
    assert not CONTENT_KEYS & set(obs_capture.one("step respond").attributes)

    obs_capture.configure(capture_content=False)
    obs_capture.clear()
    chat(ObsHooks(capture_content=True)).run(halt_after=["respond"], inputs={"question": "q"})
    assert set(obs_capture.one("step respond").attributes) >= CONTENT_KEYS
