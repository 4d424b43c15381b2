"""The hooks for the action's own spans (``__tracer`` / ``@trace``) and their attributes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from burr.lifecycle.base import DoLogAttributeHook, PostEndSpanHook, PreStartSpanHook

from obs.instrumentation import internal_error, record_exception, to_attributes
from obs_burr import _live
from obs_burr._base import HookBase, attach, current_exception, detach
from obs_burr._semconv import ACTION, SEQUENCE_ID

if TYPE_CHECKING:
    from burr.visibility import ActionSpan


class TracerSpanHooks(HookBase, PreStartSpanHook, PostEndSpanHook, DoLogAttributeHook):
    """A span per ``__tracer`` block, under its step (or its parent ``__tracer`` span)."""

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
            context, token = attach(otel_span)
            _live.tracer_spans[(app_id, partition_key, span.uid)] = _live.StepRecord(
                otel_span, context, token, current_exception()
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
            detach(record)
            # Burr's tracer does not pass the exception on; ``__exit__`` runs while it flies.
            in_flight = current_exception()
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
        if not self._options.capture():
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
