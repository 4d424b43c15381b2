"""obs never changes what Burr returns or raises, even when obs itself fails."""

from __future__ import annotations

import logging

import pytest
from opentelemetry.trace import get_current_span

import obs.testing
from obs_burr import ObsHooks
from tests.burr.apps import ActionFailed, counter, failing, streamer


class BrokenTracer:
    def start_span(self, *args, **kwargs):
        raise RuntimeError("tracer down")


def test_a_failing_tracer_does_not_reach_the_application(obs_capture, caplog):
    obs.testing.reset_diagnostics()
    hooks = ObsHooks(name="c")
    hooks._tracer = BrokenTracer()  # type: ignore[assignment]
    with caplog.at_level(logging.WARNING, logger="obs"):
        _, _, state = counter(hooks, steps=2).run(halt_after=["finish"])
        _, container = streamer(hooks).stream_result(halt_after=["talk"])
        _, stream_state = container.get()
    assert state["done"] is True
    assert stream_state["text"] == "w0 w1 w2"
    assert [s for s in obs_capture.spans if s.instrumentation_scope.name == "obs.burr"] == []
    assert "internal error in burr pre_run_step" in caplog.text
    assert not get_current_span().get_span_context().is_valid


def test_the_action_exception_is_the_same_object(obs_capture):
    from burr.core import ApplicationBuilder, State, action

    thrown = ActionFailed("original")

    @action(reads=[], writes=["x"])
    def explode(state: State) -> State:
        raise thrown

    app = (
        ApplicationBuilder()
        .with_actions(explode=explode)
        .with_transitions()
        .with_entrypoint("explode")
        .with_hooks(ObsHooks())
        .build()
    )
    with pytest.raises(ActionFailed) as raised:
        app.run(halt_after=["explode"])
    assert raised.value is thrown
    assert obs_capture.one("step explode").events[0].attributes["exception.message"] == "original"


def test_hooks_keep_working_after_a_failure(obs_capture):
    hooks = ObsHooks(name="f")
    with pytest.raises(ActionFailed):
        failing(hooks).run(halt_after=["explode"])
    counter(hooks, steps=1).run(halt_after=["finish"])
    assert obs_capture.tree(logs=False) == [
        "invoke_workflow f",
        "  step inc",
        "  step explode",
        "invoke_workflow f",
        "  step inc",
        "  step finish",
        "    prepare",
        "      lookup",
    ]
