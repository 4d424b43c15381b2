"""Synchronous applications: the span tree, attributes, ``__tracer`` spans and failures."""

from __future__ import annotations

import pytest
from opentelemetry.trace import StatusCode, get_current_span

import obs
from obs_burr import ObsHooks
from tests.burr.apps import ActionFailed, counter, failing


def test_run_is_one_trace_with_a_span_per_step(obs_capture):
    app = counter(ObsHooks(name="counter"), app_id="app-1")
    app.run(halt_after=["finish"])

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
    assert len(obs_capture.traces()) == 1
    run = obs_capture.one("invoke_workflow counter")
    assert run.attributes == {
        "gen_ai.operation.name": "invoke_workflow",
        "gen_ai.workflow.name": "counter",
        "gen_ai.conversation.id": "app-1",
        "burr.app_id": "app-1",
        "burr.method": "run",
    }
    steps = obs_capture.find("step inc")
    assert [s.attributes["burr.sequence_id"] for s in steps] == [0, 1]
    assert steps[0].attributes["burr.action"] == "inc"
    assert steps[0].attributes["burr.app_id"] == "app-1"
    assert steps[0].attributes["burr.writes"] == ("n",)
    assert "burr.partition_key" not in steps[0].attributes
    assert obs_capture.one("prepare").attributes["burr.action"] == "finish"
    assert not get_current_span().get_span_context().is_valid


def test_without_a_name_span_names_stay_low_cardinality(obs_capture):
    """The app id (usually a UUID) is an attribute, never part of the span name."""
    counter(ObsHooks(), app_id="my-app", partition_key="user-7").run(halt_after=["finish"])

    run = obs_capture.one("invoke_workflow")
    assert run.attributes["burr.app_id"] == "my-app"
    assert run.attributes["gen_ai.conversation.id"] == "my-app"
    assert "gen_ai.workflow.name" not in run.attributes
    assert run.attributes["burr.partition_key"] == "user-7"
    assert all(
        s.attributes["burr.partition_key"] == "user-7"
        for s in obs_capture.spans
        if s.name.startswith("step")
    )


def test_workflow_duration_metric(obs_capture):
    counter(ObsHooks(name="counter")).run(halt_after=["finish"])
    with pytest.raises(ActionFailed):
        failing(ObsHooks(name="f")).run(halt_after=["explode"])
    points = obs_capture.metrics()["gen_ai.invoke_workflow.duration"]
    by_name = {p.attributes["gen_ai.workflow.name"]: p for p in points}
    assert by_name["counter"].count == 1
    assert by_name["counter"].attributes == {
        "gen_ai.operation.name": "invoke_workflow",
        "gen_ai.workflow.name": "counter",
    }
    run = obs_capture.one("invoke_workflow counter")
    assert by_name["counter"].sum == pytest.approx((run.end_time - run.start_time) / 1e9, rel=0.05)
    assert by_name["f"].attributes["error.type"].endswith("ActionFailed")


def test_actions_marked_as_tools(obs_capture):
    from burr.core import ApplicationBuilder, State, action

    @action(reads=[], writes=["found"], tags=["tool"])
    def lookup(state: State) -> State:
        return state.update(found=True)

    @action(reads=[], writes=["said"])
    def answer(state: State) -> State:
        return state.update(said=True)

    @action(reads=[], writes=["n"])
    def search(state: State) -> State:
        return state.update(n=1)

    app = (
        ApplicationBuilder()
        .with_actions(lookup=lookup, search=search, answer=answer)
        .with_transitions(("lookup", "search"), ("search", "answer"))
        .with_entrypoint("lookup")
        .with_state(found=False)
        .with_hooks(ObsHooks(name="agent", tools=["search"]))
        .build()
    )
    app.run(halt_after=["answer"])
    assert obs_capture.tree(logs=False) == [
        "invoke_workflow agent",
        "  execute_tool lookup",
        "  execute_tool search",
        "  step answer",
    ]
    tool = obs_capture.one("execute_tool lookup")
    assert tool.attributes["gen_ai.operation.name"] == "execute_tool"
    assert tool.attributes["gen_ai.tool.name"] == "lookup"
    assert tool.attributes["burr.action"] == "lookup"


def test_step_calls_are_one_span_each(obs_capture):
    app = counter(ObsHooks(name="c"))
    app.step()
    app.step()
    assert obs_capture.tree(logs=False) == [
        "invoke_workflow c",
        "  step inc",
        "invoke_workflow c",
        "  step inc",
    ]
    assert {s.attributes["burr.method"] for s in obs_capture.find("invoke_workflow c")} == {"step"}


def test_iterate_traces_each_step_it_takes(obs_capture):
    # Burr reports iterate() around the generator's creation, not its consumption; the step()
    # calls it makes are reported one by one, and a span around the loop groups them.
    app = counter(ObsHooks(name="c"))
    with obs.span("conversation"):
        for _ in app.iterate(halt_after=["finish"]):
            pass
    assert obs_capture.tree(logs=False)[:3] == [
        "conversation",
        "  invoke_workflow c",
        "    step inc",
    ]
    assert len(obs_capture.find("invoke_workflow c")) == 3
    assert len(obs_capture.traces()) == 1


def test_caller_span_is_the_parent_of_the_run(obs_capture):
    with obs.span("handle request"):
        counter(ObsHooks(name="c"), steps=1).run(halt_after=["finish"])
    assert obs_capture.tree(logs=False)[:2] == ["handle request", "  invoke_workflow c"]


def test_a_failing_action_is_recorded_and_reraised_unchanged(obs_capture):
    app = failing(ObsHooks(name="f"))
    with pytest.raises(ActionFailed) as raised:
        app.run(halt_after=["explode"])
    assert str(raised.value) == "boom"

    step = obs_capture.one("step explode")
    assert step.status.status_code is StatusCode.ERROR
    assert step.attributes["error.type"] == "tests.burr.apps.ActionFailed"
    assert [e.name for e in step.events] == ["exception"]
    run = obs_capture.one("invoke_workflow f")
    assert run.status.status_code is StatusCode.ERROR
    assert run.attributes["error.type"] == "tests.burr.apps.ActionFailed"
    assert obs_capture.one("step inc").status.status_code is StatusCode.UNSET
    assert not get_current_span().get_span_context().is_valid


def test_a_call_failing_outside_any_action_is_recorded(obs_capture):
    # Missing inputs fail inside Burr before any step hook; the call hook gets exception=None.
    from burr.core import ApplicationBuilder, State, action

    @action(reads=[], writes=["x"])
    def needs(state: State, question: str) -> State:
        return state.update(x=question)

    app = (
        ApplicationBuilder()
        .with_actions(needs=needs)
        .with_transitions()
        .with_entrypoint("needs")
        .with_hooks(ObsHooks(name="q"))
        .build()
    )
    with pytest.raises(ValueError, match="missing required inputs"):
        app.run(halt_after=["needs"])
    assert obs_capture.one("invoke_workflow q").attributes["error.type"] == "ValueError"


def test_a_handled_exception_around_the_call_is_not_blamed_on_it(obs_capture):
    try:
        raise KeyError("earlier")
    except KeyError:
        counter(ObsHooks(name="c"), steps=1).run(halt_after=["finish"])
    assert all(s.status.status_code is StatusCode.UNSET for s in obs_capture.spans)


def test_tracer_span_failure_is_recorded(obs_capture):
    from burr.core import ApplicationBuilder, State, action

    @action(reads=[], writes=["x"])
    def traced(state: State, __tracer: object) -> State:
        try:
            with __tracer("risky"):  # type: ignore[operator]
                raise KeyError("inner")
        except KeyError:
            pass
        return state.update(x=1)

    app = (
        ApplicationBuilder()
        .with_actions(traced=traced)
        .with_transitions()
        .with_entrypoint("traced")
        .with_hooks(ObsHooks(name="t"))
        .build()
    )
    app.run(halt_after=["traced"])
    assert obs_capture.one("risky").attributes["error.type"] == "KeyError"
    assert obs_capture.one("step traced").status.status_code is StatusCode.UNSET


def test_a_nested_application_run_inside_an_action_nests(obs_capture):
    from burr.core import ApplicationBuilder, State, action

    hooks = ObsHooks(name="outer")

    @action(reads=[], writes=["inner"])
    def delegate(state: State) -> State:
        _, _, inner_state = counter(ObsHooks(name="inner"), steps=1).run(halt_after=["finish"])
        return state.update(inner=inner_state["n"])

    app = (
        ApplicationBuilder()
        .with_actions(delegate=delegate)
        .with_transitions()
        .with_entrypoint("delegate")
        .with_hooks(hooks)
        .build()
    )
    app.run(halt_after=["delegate"])
    assert obs_capture.tree(logs=False) == [
        "invoke_workflow outer",
        "  step delegate",
        "    invoke_workflow inner",
        "      step inc",
        "      step finish",
        "        prepare",
        "          lookup",
    ]
