"""Streaming actions: the step span lasts as long as the stream and is current only while the
action's own code runs, never in the consumer's code between items."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Generator
from typing import Any

from burr.core import ApplicationBuilder, State
from burr.core.action import StreamingAction
from opentelemetry.trace import StatusCode, get_current_span

import obs
from obs_burr import ObsHooks
from tests.burr.apps import streamer


def test_stream_result_consumed_to_the_end(obs_capture):
    app = streamer(ObsHooks(name="chat"))
    _, container = app.stream_result(halt_after=["talk"])
    assert not get_current_span().get_span_context().is_valid  # nothing leaks to the caller
    with obs.span("send to client"):
        for item in container:
            obs.info("sent {word}", word=item["word"])
    _, state = container.get()
    assert state["text"] == "w0 w1 w2"

    tree = obs_capture.tree()
    assert tree[:3] == ["invoke_workflow chat", "  step inc", "    inc {n}"]
    assert tree[3:] == [
        "  step talk",
        "    token {i}",
        "      producing",
        "    token {i}",
        "      producing",
        "    token {i}",
        "      producing",
        "send to client",
        "  sent {word}",
        "  sent {word}",
        "  sent {word}",
    ]
    talk = obs_capture.one("step talk")
    assert talk.attributes["burr.stream"] is True
    assert talk.attributes["burr.stream.items"] == 3
    assert [e.name for e in talk.events] == ["burr.stream.first_item"]
    assert obs_capture.one("invoke_workflow chat").end_time >= talk.end_time
    assert not get_current_span().get_span_context().is_valid


def test_stream_stopped_early_ends_the_step(obs_capture):
    app = streamer(ObsHooks(name="chat"))
    _, container = app.stream_result(halt_after=["talk"])
    for _ in container:
        break
    # The action is suspended inside ``with obs.span(...)``; dropping the abandoned stream
    # closes it, which must not reset the caller's context to the action's.
    del container
    gc.collect()

    talk = obs_capture.one("step talk")
    assert talk.attributes["burr.stream.stopped_early"] is True
    assert talk.status.status_code is StatusCode.UNSET
    assert obs_capture.one("invoke_workflow chat").end_time is not None
    assert not get_current_span().get_span_context().is_valid


async def test_astream_result(obs_capture):
    app = streamer(ObsHooks(name="chat"), is_async=True)
    _, container = await app.astream_result(halt_after=["talk"])
    assert not get_current_span().get_span_context().is_valid
    with obs.span("relay"):
        async for _ in container:
            obs.info("relayed")
    await container.get()

    assert obs_capture.tree()[3:] == [
        "  step talk",
        "    producing",
        "    producing",
        "    producing",
        "relay",
        "  relayed",
        "  relayed",
        "  relayed",
    ]
    assert obs_capture.one("step talk").attributes["burr.stream.items"] == 3
    assert obs_capture.one("invoke_workflow chat").attributes["burr.method"] == "stream_result"


async def test_astream_stopped_early_ends_the_step(obs_capture):
    app = streamer(ObsHooks(name="chat"), is_async=True)
    _, container = await app.astream_result(halt_after=["talk"])
    async for _ in container:
        break
    # Burr's container ends the stream in its async generator's finaliser, on the loop.
    for _ in range(5):
        gc.collect()
        await asyncio.sleep(0)

    talk = obs_capture.one("step talk")
    assert talk.attributes["burr.stream.stopped_early"] is True
    assert len(obs_capture.find("invoke_workflow chat")) == 1
    assert not get_current_span().get_span_context().is_valid


def test_stream_result_halting_on_a_non_streaming_action(obs_capture):
    app = streamer(ObsHooks(name="chat"))
    _, container = app.stream_result(halt_after=["inc"])
    container.get()
    assert obs_capture.tree(logs=False) == ["invoke_workflow chat", "  step inc"]
    assert not get_current_span().get_span_context().is_valid


class Spell(StreamingAction):
    """A class-based (multi-step) streaming action: ``stream_run`` then ``update``."""

    def stream_run(self, state: State, **run_kwargs: Any) -> Generator[dict[str, Any], None, None]:
        for letter in "abc":
            obs.info("spelling")
            yield {"letter": letter}
        yield {"word": "abc"}

    def update(self, result: dict[str, Any], state: State) -> State:
        return state.update(word=result["word"])

    @property
    def reads(self) -> list[str]:
        return []

    @property
    def writes(self) -> list[str]:
        return ["word"]


def test_multi_step_streaming_action(obs_capture):
    app = (
        ApplicationBuilder()
        .with_actions(spell=Spell())
        .with_transitions()
        .with_entrypoint("spell")
        .with_hooks(ObsHooks(name="speller"))
        .build()
    )
    _, container = app.stream_result(halt_after=["spell"])
    with obs.span("reader"):
        letters = [item["letter"] for item in container]
    assert letters == ["a", "b", "c"]
    assert container.get()[1]["word"] == "abc"
    assert obs_capture.tree() == [
        "invoke_workflow speller",
        "  step spell",
        "    spelling",
        "    spelling",
        "    spelling",
        "reader",
    ]
    assert obs_capture.one("step spell").attributes["burr.stream.items"] == 3
    assert not get_current_span().get_span_context().is_valid
