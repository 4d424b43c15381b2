"""The application-call hooks: one ``invoke_workflow`` span and duration point per call."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from burr.lifecycle.base import (
    PostApplicationCreateHook,
    PostApplicationExecuteCallHook,
    PreApplicationExecuteCallHook,
)
from opentelemetry import trace as trace_api
from opentelemetry.context import Context

from obs.instrumentation import error_type, internal_error, record_exception
from obs_burr import _bridge, _live
from obs_burr._base import HookBase, current_exception
from obs_burr._semconv import (
    APP_ID,
    CONVERSATION_ID,
    METHOD,
    PARTITION_KEY,
    SPAWNING_APP_ID,
    SPAWNING_SEQUENCE_ID,
    STREAM_STOPPED_EARLY,
)

if TYPE_CHECKING:
    from burr.core import State

#: Burr reports these methods around the creation of a generator, not its consumption: the
#: ``step``/``astep`` calls the generator makes as it is consumed are reported (and traced)
#: one by one instead.
_GENERATOR_METHODS = frozenset({"iterate", "aiterate", "stream_iterate", "astream_iterate"})


class CallHooks(
    HookBase,
    PostApplicationCreateHook,
    PreApplicationExecuteCallHook,
    PostApplicationExecuteCallHook,
):
    """``post_application_create`` and the hooks around each application call."""

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
        if not self.enabled:
            return
        try:
            adapter_set = _bridge.calling_adapter_set(self)
            if adapter_set is not None:
                _bridge.leave_tracer_spans_to_obs(adapter_set)
            if spawning_parent_pointer is None:
                return
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
                span, trace_api.set_span_in_context(span), current_exception()
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
                in_flight = current_exception()
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
