"""``ObsHooks``: Burr lifecycle hooks that trace applications with obs.

One span per application call, named as a GenAI workflow invocation (``invoke_workflow
<name>``; the method, ``run``/``step``/``stream_result``/..., is ``burr.method``), one child span
per action executed (``step <action>``, or ``execute_tool <action>`` for actions marked as
tools), the action's ``__tracer`` spans under it, and the step span current while the action
runs, so whatever the action does (an OpenAI call, a FastStream publish, ``obs.span``) lands
under it. Each application call also records ``gen_ai.invoke_workflow.duration``.

Only the synchronous hook variants are implemented, on purpose: Burr calls them for async
applications too (``call_all_lifecycle_hooks_sync_and_async`` runs the sync hooks inline in the
awaiting task), while its async variants run under ``asyncio.gather``, i.e. in new tasks with
copied contexts, where making the step span current cannot reach the action, and each costs a
task. An adapter implementing both would be called twice per event in async applications.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from burr.lifecycle.base import (
    DoLogAttributeHook,
    PostApplicationCreateHook,
    PostApplicationExecuteCallHook,
    PostEndSpanHook,
    PostRunStepHook,
    PostStreamItemHook,
    PreApplicationExecuteCallHook,
    PreRunStepHook,
    PreStartSpanHook,
    PreStartStreamHook,
)
from opentelemetry import context as context_api
from opentelemetry import metrics as metrics_api
from opentelemetry import trace as trace_api
from opentelemetry.context import Context

from obs.instrumentation import (
    declare_identifier_keys,
    distribution_version,
    error_type,
    get_meter,
    get_tracer,
    internal_error,
    record_exception,
    settings,
    to_attributes,
)
from obs_burr import _content, _live, _streams

if TYPE_CHECKING:
    from burr.core import Action, State
    from burr.visibility import ActionSpan

SCOPE = "obs.burr"
VERSION = distribution_version("obs-burr")

# Attribute names (Burr has no semantic convention; DESIGN.md fixes the ``burr.`` prefix).
APP_ID = "burr.app_id"
PARTITION_KEY = "burr.partition_key"
SEQUENCE_ID = "burr.sequence_id"
ACTION = "burr.action"
METHOD = "burr.method"
WRITES = "burr.writes"
STREAMING = "burr.stream"
STREAM_ITEMS = "burr.stream.items"
STREAM_STOPPED_EARLY = "burr.stream.stopped_early"
SPAWNING_APP_ID = "burr.spawning_parent.app_id"
SPAWNING_SEQUENCE_ID = "burr.spawning_parent.sequence_id"
# The GenAI workflow and tool conventions, for the application call and tool actions.
OPERATION = "gen_ai.operation.name"
WORKFLOW_NAME = "gen_ai.workflow.name"
CONVERSATION_ID = "gen_ai.conversation.id"
TOOL_NAME = "gen_ai.tool.name"
TOOL_TYPE = "gen_ai.tool.type"
INVOKE_WORKFLOW = "invoke_workflow"
EXECUTE_TOOL = "execute_tool"
WORKFLOW_DURATION = "gen_ai.invoke_workflow.duration"
#: An action tagged with this (``@action(..., tags=["tool"])``) is traced as a tool execution.
TOOL_TAG = "tool"
_DURATION_BUCKETS = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip
# Ids and names: the scrubber neither treats them as secrets nor searches their values.
declare_identifier_keys(
    APP_ID,
    SEQUENCE_ID,
    ACTION,
    METHOD,
    WRITES,
    SPAWNING_APP_ID,
    OPERATION,
    WORKFLOW_NAME,
    CONVERSATION_ID,
    TOOL_NAME,
    TOOL_TYPE,
)

#: Burr reports these methods around the creation of a generator, not its consumption: the
#: ``step``/``astep`` calls the generator makes as it is consumed are reported (and traced)
#: one by one instead.
_GENERATOR_METHODS = frozenset({"iterate", "aiterate", "stream_iterate", "astream_iterate"})


def _current_exception() -> BaseException | None:
    # Hooks are called from ``finally`` blocks and ``__exit__``: the exception in flight, if
    # any, is what ended the call, even when Burr hands the hook ``exception=None``.
    return sys.exc_info()[1]


def _detach(record: _live.StepRecord) -> None:
    """Detach the record's span if it is still what the calling code has current.

    Anything else means the hook runs in another context (a stream finalised in another task)
    or the action left a span attached: detaching then would restore a stale context.
    """
    token = record.token
    if token is not None:
        record.token = None
        if context_api.get_current() is record.context:
            context_api.detach(token)  # type: ignore[arg-type]


class ObsHooks(
    PostApplicationCreateHook,
    PreApplicationExecuteCallHook,
    PostApplicationExecuteCallHook,
    PreRunStepHook,
    PostRunStepHook,
    PreStartSpanHook,
    PostEndSpanHook,
    DoLogAttributeHook,
    PreStartStreamHook,
    PostStreamItemHook,
):
    """Burr lifecycle adapter: ``ApplicationBuilder().with_hooks(ObsHooks())``.

    :param name: the workflow's name (``gen_ai.workflow.name``, and the span name
        ``invoke_workflow <name>``). Without one the span is plain ``invoke_workflow``: app ids
        are usually UUIDs, and span names must stay low in cardinality (the app id is
        ``burr.app_id`` and ``gen_ai.conversation.id``).
    :param tools: names of actions to trace as tool executions (``execute_tool <action>``), in
        addition to actions tagged ``"tool"``.
    :param capture_content: record action inputs, results, written state values and
        ``__tracer`` attributes (scrubbed); ``None`` follows ``obs.configure(capture_content=)``.
    :param tracer_provider: emit through this provider instead of the global one.

    One instance may be shared by any number of applications, concurrently. Add it once per
    application (``obs.instrument("burr")`` adds one to every application it sees).
    """

    #: Hooks the user creates keep the stream wrappers installed (see ``_streams``).
    _pin_streams: ClassVar[bool] = True

    def __init__(
        self,
        *,
        name: str | None = None,
        tools: Iterable[str] = (),
        capture_content: bool | None = None,
        tracer_provider: trace_api.TracerProvider | None = None,
        meter_provider: metrics_api.MeterProvider | None = None,
    ) -> None:
        self._name = name
        self._call_name = f"{INVOKE_WORKFLOW} {name}" if name else INVOKE_WORKFLOW
        self._tools = frozenset(tools)
        self._capture_content = capture_content
        self._tracer = get_tracer(SCOPE, VERSION, tracer_provider)
        self._duration = get_meter(SCOPE, VERSION, meter_provider).create_histogram(
            WORKFLOW_DURATION,
            unit="s",
            description="Duration of a GenAI workflow invocation (a Burr application call)",
            explicit_bucket_boundaries_advisory=list(_DURATION_BUCKETS),
        )
        workflow: dict[str, Any] = {OPERATION: INVOKE_WORKFLOW}
        if name:
            workflow[WORKFLOW_NAME] = name
        self._workflow_attributes = workflow
        #: Switched off by the integration when it is uninstrumented (apps keep the object).
        self.enabled = True
        _streams.install(pin=self._pin_streams)

    def _capture(self) -> bool:
        if self._capture_content is not None:
            return self._capture_content
        return settings().capture_content

    # -- application --------------------------------------------------------------------
    def post_application_create(
        self,
        *,
        app_id: str,
        partition_key: str | None,
        state: State[Any],
        application_graph: Any,
        parent_pointer: Any,
        spawning_parent_pointer: Any,
        **future_kwargs: Any,
    ) -> None:
        if spawning_parent_pointer is None or not self.enabled:
            return
        try:
            parent = spawning_parent_pointer
            _live.remember_parent(
                (app_id, partition_key), (parent.app_id, parent.partition_key, parent.sequence_id)
            )
        except Exception as exc:
            internal_error("burr post_application_create", exc)

    def pre_run_execute_call(
        self,
        *,
        app_id: str,
        partition_key: str | None,
        state: State[Any],
        method: Any,
        **future_kwargs: Any,
    ) -> None:
        if not self.enabled:
            return
        try:
            method_name: str = method.value
            if method_name in _GENERATOR_METHODS:
                return
            key = (app_id, partition_key)
            attributes: dict[str, Any] = {
                **self._workflow_attributes,
                CONVERSATION_ID: app_id,
                APP_ID: app_id,
                METHOD: method_name,
            }
            if partition_key is not None:
                attributes[PARTITION_KEY] = partition_key
            parent: Context | None = None
            if _live.spawned_by:
                parent = self._spawning_parent(key, attributes)
            span = self._tracer.start_span(
                self._call_name,
                context=parent,
                attributes=attributes,
                record_exception=False,
                set_status_on_exception=False,
            )
            stale = _live.calls.get(key)
            _live.calls[key] = _live.CallRecord(
                span, trace_api.set_span_in_context(span), _current_exception()
            )
            if stale is not None:
                # Burr raised before reporting the end of the previous call; don't leak it.
                stale.span.end()
        except Exception as exc:
            internal_error("burr pre_run_execute_call", exc)

    def _spawning_parent(self, key: _live.AppKey, attributes: dict[str, Any]) -> Context | None:
        """The step that spawned this application, when it did (``burr.core.parallelism``).

        Sub-applications run on executor threads, where the parent's context is not current:
        Burr's spawning pointer is the only way back to it.
        """
        parent_key = _live.spawned_by.pop(key, None)
        if parent_key is None:
            return None
        attributes[SPAWNING_APP_ID] = parent_key[0]
        if parent_key[2] is not None:
            attributes[SPAWNING_SEQUENCE_ID] = parent_key[2]
        record = _live.steps.get(parent_key)
        return record.context if record is not None else None

    def post_run_execute_call(
        self,
        *,
        app_id: str,
        partition_key: str | None,
        state: State[Any],
        method: Any,
        exception: BaseException | None,
        **future_kwargs: Any,
    ) -> None:
        try:
            if method.value in _GENERATOR_METHODS:
                return
            call = _live.calls.pop((app_id, partition_key), None)
            if call is None:
                return
            error = exception if exception is not None else call.error
            if error is None:
                in_flight = _current_exception()
                if in_flight is not call.exc_before:
                    error = in_flight
            span = call.span
            failure: str | None = None
            if error is not None:
                if isinstance(error, GeneratorExit):
                    span.set_attribute(STREAM_STOPPED_EARLY, True)
                else:
                    record_exception(span, error)
                    failure = error_type(error)
            span.end()
            self._record_duration(span, failure)
        except Exception as exc:
            internal_error("burr post_run_execute_call", exc)

    def _record_duration(self, span: trace_api.Span, failure: str | None) -> None:
        start = getattr(span, "start_time", None)
        end = getattr(span, "end_time", None) or time.time_ns()
        if type(start) is not int:
            return
        attributes = self._workflow_attributes
        if failure is not None:
            attributes = {**attributes, "error.type": failure}
        self._duration.record(max(0, end - start) / 1e9, attributes)

    # -- steps --------------------------------------------------------------------------
    def pre_run_step(
        self,
        *,
        app_id: str,
        partition_key: str | None,
        sequence_id: int,
        state: State[Any],
        action: Action,
        inputs: dict[str, Any],
        **future_kwargs: Any,
    ) -> None:
        # The hot path: measured per step in benchmarks/bench_burr.py, hence inlined helpers.
        if not self.enabled:
            return
        try:
            call = _live.calls.get((app_id, partition_key))
            name = action.name
            attributes: dict[str, Any] = {
                APP_ID: app_id,
                SEQUENCE_ID: sequence_id,
                ACTION: name,
                WRITES: action.writes,
            }
            if name in self._tools or TOOL_TAG in action.tags:
                span_name = f"{EXECUTE_TOOL} {name}"
                attributes[OPERATION] = EXECUTE_TOOL
                attributes[TOOL_NAME] = name
                attributes[TOOL_TYPE] = "function"
            else:
                span_name = "step " + name
            if partition_key is not None:
                attributes[PARTITION_KEY] = partition_key
            capture = self._capture_content
            if capture is None:
                capture = settings().capture_content
            if capture:
                value = _content.inputs_value(inputs)
                if value is not None:
                    attributes[_content.INPUTS] = value
            span = self._tracer.start_span(
                span_name,
                context=call.context if call is not None else None,
                attributes=attributes,
                record_exception=False,
                set_status_on_exception=False,
            )
            context = trace_api.set_span_in_context(span)
            # The step span is current while the action runs (same thread, same task: Burr
            # calls this hook inline right before running the action).
            _live.steps[(app_id, partition_key, sequence_id)] = _live.StepRecord(
                span, context, context_api.attach(context), sys.exc_info()[1], capture
            )
        except Exception as exc:
            internal_error("burr pre_run_step", exc)

    def post_run_step(
        self,
        *,
        app_id: str,
        partition_key: str | None,
        sequence_id: int,
        state: State[Any],
        action: Action,
        result: dict[str, Any] | None,
        exception: BaseException | None,
        **future_kwargs: Any,
    ) -> None:
        try:
            record = _live.steps.pop((app_id, partition_key, sequence_id), None)
            if record is None:
                return
            token = record.token
            if token is not None:
                record.token = None
                if context_api.get_current() is record.context:
                    context_api.detach(token)  # type: ignore[arg-type]
            span = record.span
            if record.stream is not None:
                _streams.finish(record)
            if record.items:
                span.set_attribute(STREAM_ITEMS, record.items)
            error = exception
            if error is None:
                in_flight = sys.exc_info()[1]
                if in_flight is not record.exc_before:
                    error = in_flight
            if error is not None:
                if isinstance(error, GeneratorExit):
                    # The consumer stopped reading the stream: not a failure of the action.
                    span.set_attribute(STREAM_STOPPED_EARLY, True)
                else:
                    record_exception(span, error)
                    call = _live.calls.get((app_id, partition_key))
                    if call is not None:
                        call.error = error
            elif record.capture:
                self._record_output(span, action, result, state)
            span.end()
        except Exception as exc:
            internal_error("burr post_run_step", exc)

    @staticmethod
    def _record_output(
        span: trace_api.Span, action: Action, result: dict[str, Any] | None, state: State[Any]
    ) -> None:
        if result:
            span.set_attribute(_content.RESULT, _content.inputs_value(result) or "{}")
        written = _content.state_value(state, action.writes)
        if written is not None:
            span.set_attribute(_content.STATE, written)

    # -- streaming ----------------------------------------------------------------------
    def pre_start_stream(
        self,
        *,
        action: str,
        sequence_id: int,
        app_id: str,
        partition_key: str | None,
        **future_kwargs: Any,
    ) -> None:
        try:
            record = _live.steps.get((app_id, partition_key, sequence_id))
            if record is None:
                return
            record.span.set_attribute(STREAMING, True)
            # ``stream_result`` returns now and the action runs inside the consumer's
            # iteration: the stream wrapper (``_streams``) makes the step current each time
            # the action resumes, so the caller must not keep it current in between.
            _detach(record)
        except Exception as exc:
            internal_error("burr pre_start_stream", exc)

    def post_stream_item(
        self,
        *,
        item: Any,
        item_index: int,
        stream_initialize_time: Any,
        first_stream_item_start_time: Any,
        action: str,
        sequence_id: int,
        app_id: str,
        partition_key: str | None,
        **future_kwargs: Any,
    ) -> None:
        record = _live.steps.get((app_id, partition_key, sequence_id))
        if record is None:
            return
        record.items += 1
        if record.items == 1:
            # Time to first item is what users of streamed LLM answers watch.
            try:
                record.span.add_event("burr.stream.first_item")
            except Exception as exc:
                internal_error("burr post_stream_item", exc)

    # -- the action's own spans (``__tracer`` / ``@trace``) -------------------------------
    def pre_start_span(
        self,
        *,
        action: str,
        action_sequence_id: int,
        span: ActionSpan,
        span_dependencies: list[str],
        app_id: str,
        partition_key: str | None,
        **future_kwargs: Any,
    ) -> None:
        if not self.enabled:
            return
        try:
            parent_record: _live.StepRecord | None
            if span.parent is not None:
                parent_record = _live.tracer_spans.get((app_id, partition_key, span.parent.uid))
            else:
                parent_record = _live.steps.get((app_id, partition_key, action_sequence_id))
            # Burr passes the action's name, or the Action itself (the injected ``__tracer``).
            action_name = action if isinstance(action, str) else getattr(action, "name", "")
            attributes: dict[str, Any] = {ACTION: action_name, SEQUENCE_ID: action_sequence_id}
            if span_dependencies:
                attributes["burr.span.dependencies"] = list(span_dependencies)
            otel_span = self._tracer.start_span(
                span.name,
                context=parent_record.context if parent_record is not None else None,
                attributes=attributes,
                record_exception=False,
                set_status_on_exception=False,
            )
            context = trace_api.set_span_in_context(otel_span)
            token = context_api.attach(context)
            _live.tracer_spans[(app_id, partition_key, span.uid)] = _live.StepRecord(
                otel_span, context, token, _current_exception()
            )
        except Exception as exc:
            internal_error("burr pre_start_span", exc)

    def post_end_span(
        self,
        *,
        action: str,
        action_sequence_id: int,
        span: ActionSpan,
        span_dependencies: list[str],
        app_id: str,
        partition_key: str | None,
        **future_kwargs: Any,
    ) -> None:
        try:
            record = _live.tracer_spans.pop((app_id, partition_key, span.uid), None)
            if record is None:
                return
            _detach(record)
            # Burr's tracer does not pass the exception on; ``__exit__`` runs while it flies.
            in_flight = _current_exception()
            if in_flight is not None and in_flight is not record.exc_before:
                record_exception(record.span, in_flight)
            record.span.end()
        except Exception as exc:
            internal_error("burr post_end_span", exc)

    def do_log_attributes(
        self,
        *,
        attributes: dict[str, Any],
        action: str,
        action_sequence_id: int,
        span: ActionSpan | None,
        tags: dict[str, Any],
        app_id: str,
        partition_key: str | None,
        **future_kwargs: Any,
    ) -> None:
        # Burr's ``@trace`` logs every traced function's arguments and return value through
        # this hook: content, so recorded only when the user opted in.
        if not self._capture():
            return
        try:
            if span is not None:
                record = _live.tracer_spans.get((app_id, partition_key, span.uid))
            else:
                record = _live.steps.get((app_id, partition_key, action_sequence_id))
            if record is not None:
                record.span.set_attributes(to_attributes(attributes))
        except Exception as exc:
            internal_error("burr do_log_attributes", exc)


class IntegrationHooks(ObsHooks):
    """The hooks ``obs.instrument("burr")`` adds; it installs and removes the stream wrappers."""

    _pin_streams: ClassVar[bool] = False
