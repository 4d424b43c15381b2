"""The step hooks: one ``step``/``execute_tool`` span per action, current while it runs."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from burr.lifecycle.base import (
    PostRunStepHook,
    PostStreamItemHook,
    PreRunStepHook,
    PreStartStreamHook,
)
from opentelemetry import trace as trace_api
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind

from obs.instrumentation import SPAN_KEY, internal_error, record_exception, settings
from obs_burr import _content, _live, _streams
from obs_burr._base import CONTEXT_VAR, HookBase, attach, current_context, detach, reset
from obs_burr._semconv import (
    ACTION,
    APP_ID,
    EXECUTE_TOOL,
    OPERATION,
    PARTITION_KEY,
    SEQUENCE_ID,
    STREAM_ITEMS,
    STREAM_STOPPED_EARLY,
    STREAMING,
    TOOL_NAME,
    TOOL_TAG,
    TOOL_TYPE,
    WRITES,
)

if TYPE_CHECKING:
    from burr.core import Action, State

INTERNAL = SpanKind.INTERNAL


class StepHooks(HookBase, PreRunStepHook, PostRunStepHook, PreStartStreamHook, PostStreamItemHook):
    """The hooks around each action, and around the stream a streaming action yields."""

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
            # What depends only on the action (its span name, name, writes, tool attributes)
            # is built once per action, not per step.
            static = self._step_statics.get(action)
            if static is None:
                static = self._step_static(action)
            span_name, fixed = static
            # The same keys in the same order as ever: app id, sequence id, then the fixed ones.
            attributes: dict[str, Any] = {APP_ID: app_id, SEQUENCE_ID: sequence_id, **fixed}
            if partition_key is not None:
                attributes[PARTITION_KEY] = partition_key
            # ``self._options.capture()``, inlined.
            capture = self._options.capture_content
            if capture is None:
                capture = settings().capture_content
            if capture:
                value = _content.inputs_value(inputs)
                if value is not None:
                    attributes[_content.INPUTS] = value
            # Past obs's swappable proxy to the tracer behind it (obs's lean one under
            # ``obs.configure()``), arguments by position: each saves a call layer per step.
            tracer = self._tracer
            span = getattr(tracer, "_real", tracer).start_span(
                span_name,
                call.context if call is not None else None,
                INTERNAL,
                attributes,
                None,
                None,
                False,
                False,
            )
            # The step span is current while the action runs (same thread, same task: Burr
            # calls this hook inline right before running the action). ``attach``, inlined.
            var = CONTEXT_VAR
            if var is not None:
                context = Context({**var.get(), SPAN_KEY: span})
                token: object = var.set(context)
            else:
                context, token = attach(span)
            _live.steps[(app_id, partition_key, sequence_id)] = _live.StepRecord(
                span, context, token, sys.exc_info()[1], capture
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
            if token is not None:  # ``detach(record)``, inlined
                record.token = None
                var = CONTEXT_VAR
                if var is None:
                    if current_context() is record.context:
                        reset(token)
                elif var.get() is record.context:
                    try:
                        var.reset(token)  # type: ignore[arg-type]
                    except ValueError:
                        reset(token)  # the API's way: it logs "Failed to detach context"
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

    def _step_static(self, action: Action) -> tuple[str, dict[str, Any]]:
        """The span name and attributes of ``action``'s steps that no step changes (cached)."""
        name = action.name
        # Burr's ``writes`` is a list; a span stores a tuple (the SDK converts it anyway).
        fixed: dict[str, Any] = {ACTION: name, WRITES: tuple(action.writes)}
        if name in self._tools or TOOL_TAG in action.tags:
            span_name = f"{EXECUTE_TOOL} {name}"
            fixed[OPERATION] = EXECUTE_TOOL
            fixed[TOOL_NAME] = name
            fixed[TOOL_TYPE] = "function"
        else:
            span_name = "step " + name
        static = (span_name, fixed)
        self._step_statics.put(action, static)
        return static

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
            detach(record)
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
