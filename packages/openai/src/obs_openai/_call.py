"""One model call: its span, what the answer (or the stream of chunks) says, its metrics.

A :class:`ModelCall` ends exactly once, whichever way the call finishes: answered, failed,
stream exhausted, closed, left early, or garbage-collected (``end`` is idempotent). It holds no
reference to the objects returned to the user, so it never keeps a stream alive.
"""

from __future__ import annotations

import os
import time
import warnings
from typing import Any

from opentelemetry import metrics as metrics_api
from opentelemetry import trace as trace_api
from opentelemetry.util.types import AttributeValue

from obs.instrumentation import (
    BoundedCache,
    IntegrationOptions,
    distribution_version,
    error_type,
    internal_error,
    record_exception,
)
from obs_openai import _messages
from obs_openai import _semconv as sc
from obs_openai._messages import StreamedChoice, get
from obs_openai._metrics import GenAIMetrics, MetricSet, Tokens, read_tokens

_perf = time.perf_counter

#: ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``: ``true``/``false``, or where content
#: goes. obs records content on spans, so the span-bearing values switch it on.
_GENAI_CAPTURE = {
    "true": True,
    "false": False,
    "span_only": True,
    "span_and_event": True,
    "event_only": False,
    "no_content": False,
}


def genai_capture_from_environment() -> bool | None:
    """The standard GenAI content switch, None when unset; an unknown value is said once."""
    raw = os.environ.get("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT")
    if raw is None or not raw.strip():
        return None
    value = _GENAI_CAPTURE.get(raw.strip().lower())
    if value is None:
        # Python's warning filter says it once per place; the setting then does nothing.
        warnings.warn(
            "obs-openai: OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT="
            f"{raw.strip()[:40]!r} is not one of {', '.join(sorted(_GENAI_CAPTURE))}; ignored",
            RuntimeWarning,
            stacklevel=2,
        )
    return value


class Telemetry:
    """The tracer, metric instruments and options of one instrumentation."""

    def __init__(
        self,
        *,
        capture_content: bool | None = None,
        tracer_provider: trace_api.TracerProvider | None = None,
        meter_provider: metrics_api.MeterProvider | None = None,
    ) -> None:
        version = distribution_version("obs-openai")
        #: The overrides every integration has, resolved the shared way.
        self.options = IntegrationOptions(
            capture_content=capture_content,
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
        )
        self.genai_capture = genai_capture_from_environment()
        self.tracer = self.options.tracer(sc.SCOPE, version)
        self.metrics = GenAIMetrics(self.options.meter(sc.SCOPE, version))

    def capture(self) -> bool:
        """Record prompts and completions? ``IntegrationOptions.capture()``, with the GenAI
        conventions' own variable between the per-instrumentation option and obs's setting."""
        if self.genai_capture is None or self.options.capture_content is not None:
            return self.options.capture()
        return self.genai_capture


_LENGTH_REASONS = {"max_output_tokens": "length", "content_filter": "content_filter"}


def responses_finish_reason(response: object) -> str | None:
    """A chat-style finish reason for a Responses API answer (which reports a status)."""
    status = get(response, "status")
    if status == "completed":
        for item in get(response, "output") or ():
            if get(item, "type") == "function_call":
                return "tool_calls"
        return "stop"
    if status == "incomplete":
        reason = get(get(response, "incomplete_details"), "reason")
        return _LENGTH_REASONS.get(reason, reason or "incomplete")
    return status if isinstance(status, str) else None


class CallShape:
    """What every call to one endpoint and model through one client shares, built once: the
    span name, the span's fixed attributes and the metric attribute sets (by response model
    and error type, a handful per shape)."""

    __slots__ = ("attributes", "metric_sets", "name", "url")

    def __init__(self, url: object, name: str, attributes: dict[str, AttributeValue]) -> None:
        self.url = url
        self.name = name
        #: The span's fixed attributes (copied per call, never modified).
        self.attributes = attributes
        self.metric_sets: BoundedCache[tuple[object, str | None], MetricSet] = BoundedCache(64)

    def metric_set(self, response_model: object, error: str | None) -> MetricSet:
        key = (response_model if type(response_model) is str else None, error)
        found = self.metric_sets.get(key)
        if found is None:
            attributes = dict(self.attributes)
            if key[0] is not None:
                attributes[sc.RESPONSE_MODEL] = key[0]
            if error is not None:
                attributes[sc.ERROR_TYPE] = error
            found = MetricSet(attributes)
            self.metric_sets.put(key, found)
        return found


class ModelCall:
    __slots__ = (
        "capture",
        "choices",
        "ended",
        "endpoint",
        "error",
        "final",
        "finish",
        "first_chunk",
        "response_extra",
        "response_id",
        "response_model",
        "shape",
        "span",
        "started",
        "telemetry",
        "tokens",
        "usage",
    )

    def __init__(
        self,
        telemetry: Telemetry,
        endpoint: str,
        span: trace_api.Span,
        shape: CallShape,
        capture: bool,
        started: float,
    ) -> None:
        self.telemetry = telemetry
        self.endpoint = endpoint
        self.span = span
        self.shape = shape
        self.capture = capture
        self.started = started
        self.ended = False
        self.error: str | None = None
        # What a stream tells, assembled chunk by chunk (set on the span when it ends).
        self.first_chunk: float | None = None
        self.response_id: Any = None
        self.response_model: Any = None
        self.response_extra: dict[str, AttributeValue] | None = None
        self.finish: dict[int, str] | None = None
        self.usage: Any = None  # a stream's usage chunk, read when the stream ends
        self.tokens: Tokens | None = None
        self.choices: dict[int, StreamedChoice] | None = None
        self.final: Any = None  # the Responses API's closing event carries the whole response

    # -- a complete answer --------------------------------------------------------------------
    def answered(self, response: object) -> None:
        """A non-streamed answer arrived: take its attributes and end."""
        if self.ended:
            return
        try:
            attributes: dict[str, AttributeValue] = {}
            self._response_attributes(response, attributes)
            self.span.set_attributes(attributes)
        except Exception as exc:
            internal_error("openai response attributes", exc)
        self.end()

    def _response_attributes(self, response: object, out: dict[str, AttributeValue]) -> None:
        endpoint = self.endpoint
        response_id = get(response, "id")
        if isinstance(response_id, str):
            out[sc.RESPONSE_ID] = response_id
        model = get(response, "model")
        if isinstance(model, str):
            out[sc.RESPONSE_MODEL] = model
            self.response_model = model
        if endpoint == sc.EMBEDDINGS:
            self.tokens = read_tokens(get(response, "usage"), endpoint)
            _usage_attributes(self.tokens, out)
            return
        tier = get(response, "service_tier")
        if isinstance(tier, str):
            out[sc.RESPONSE_SERVICE_TIER] = tier
        if endpoint == sc.RESPONSES:
            reason = responses_finish_reason(response)
            if reason:
                out[sc.FINISH_REASONS] = (reason,)
            self.tokens = read_tokens(get(response, "usage"), endpoint)
            _usage_attributes(self.tokens, out)
            if self.capture:
                out[sc.OUTPUT_MESSAGES] = _messages.encode(
                    _messages.responses_output(response, reason)
                )
            if get(response, "status") == "failed":
                self.error = str(get(get(response, "error"), "code") or "failed")
            return
        fingerprint = get(response, "system_fingerprint")
        if isinstance(fingerprint, str):
            out[sc.SYSTEM_FINGERPRINT] = fingerprint
        choices = get(response, "choices") or ()
        found = [get(c, "finish_reason") for c in choices]
        reasons = tuple(str(r) for r in found if r)
        if reasons:
            out[sc.FINISH_REASONS] = reasons
        self.tokens = read_tokens(get(response, "usage"), endpoint)
        _usage_attributes(self.tokens, out)
        if self.capture:
            build = _messages.chat_output if endpoint == sc.CHAT else _messages.completion_output
            out[sc.OUTPUT_MESSAGES] = _messages.encode(build(choices))

    # -- a stream, chunk by chunk -------------------------------------------------------------
    def chunk(self, item: Any) -> None:
        """One chunk (or Responses event) the user received. Never raises.

        This runs for every chunk of every stream, so it is written flat: plain attribute
        reads (chunks are the client's typed models) and no helper calls on the common path.
        """
        if self.ended:
            return
        try:
            if self.first_chunk is None:
                self.first_chunk = _perf()
            if self.endpoint == sc.RESPONSES:
                self._responses_event(item)
                return
            # Azure's first chunk (prompt filter results) has an empty id and model: keep the
            # first non-empty ones.
            if not self.response_id:
                self.response_id = item.id
            if not self.response_model:
                self.response_model = item.model
            # Service tier and fingerprint ride on every chunk, or only on some (streams
            # without the usage chunk end without them): keep the last one seen.
            tier = getattr(item, "service_tier", None)
            fingerprint = getattr(item, "system_fingerprint", None)
            if tier is not None or fingerprint is not None:
                self._response_extra(tier, fingerprint)
            for choice in item.choices:
                reason = choice.finish_reason
                if reason is not None:
                    finish = self.finish
                    if finish is None:
                        finish = self.finish = {}
                    finish[choice.index] = reason
                if self.capture:
                    self._choice(choice.index, choice)
            if item.usage is not None:
                self._usage_chunk(item)
        except Exception as exc:
            internal_error("openai stream chunk", exc)

    def _usage_chunk(self, chunk: Any) -> None:
        self.usage = chunk.usage

    def _response_extra(self, tier: object, fingerprint: object) -> None:
        extra = self.response_extra
        if extra is None:
            extra = self.response_extra = {}
        if isinstance(tier, str) and tier:
            extra[sc.RESPONSE_SERVICE_TIER] = tier
        if isinstance(fingerprint, str) and fingerprint:
            extra[sc.SYSTEM_FINGERPRINT] = fingerprint

    def _choice(self, index: int, choice: Any) -> None:
        choices = self.choices
        if choices is None:
            choices = self.choices = {}
        slot = choices.get(index)
        if slot is None:
            slot = choices[index] = StreamedChoice()
        if self.endpoint == sc.CHAT:
            slot.add_delta(choice.delta)
        else:
            slot.add_text(getattr(choice, "text", None))
        if choice.finish_reason is not None:
            slot.finish_reason = choice.finish_reason

    def _responses_event(self, event: Any) -> None:
        kind = getattr(event, "type", None)
        if kind in ("response.completed", "response.incomplete", "response.failed"):
            self.final = event.response
        elif kind == "response.created":
            response = event.response
            self.response_id = response.id
            self.response_model = response.model
        elif kind == "error":
            self.error = str(getattr(event, "code", None) or "error")

    def _stream_attributes(self, out: dict[str, AttributeValue]) -> None:
        if self.first_chunk is not None:
            out[sc.TIME_TO_FIRST_CHUNK] = self.first_chunk - self.started
        if self.final is not None:
            self._response_attributes(self.final, out)
            return
        if isinstance(self.response_id, str):
            out[sc.RESPONSE_ID] = self.response_id
        if isinstance(self.response_model, str):
            out[sc.RESPONSE_MODEL] = self.response_model
        if self.finish:
            out[sc.FINISH_REASONS] = tuple(self.finish[i] for i in sorted(self.finish))
        if self.response_extra:
            out.update(self.response_extra)
        self.tokens = read_tokens(self.usage, self.endpoint)
        _usage_attributes(self.tokens, out)
        if self.capture and self.choices:
            messages = [self.choices[i].message() for i in sorted(self.choices)]
            out[sc.OUTPUT_MESSAGES] = _messages.encode(messages)

    # -- the end ------------------------------------------------------------------------------
    def fail(self, exc: BaseException) -> None:
        """The call (or its stream) raised ``exc``: record it, end. The caller re-raises."""
        if self.ended:
            return
        try:
            record_exception(self.span, exc)
            status = getattr(exc, "status_code", None)
            if type(status) is int:
                self.span.set_attribute(sc.HTTP_STATUS, status)
            self.error = error_type(exc)
        except Exception as err:
            internal_error("openai error attributes", err)
        self.end()

    def end(self) -> None:
        """End the span and record the metrics, once."""
        if self.ended:
            return
        self.ended = True
        try:
            streamed = self.first_chunk is not None or self.final is not None
            if streamed:
                attributes: dict[str, AttributeValue] = {}
                self._stream_attributes(attributes)
                self.span.set_attributes(attributes)
            if self.error is not None and not _has_error(self.span):
                self.span.set_attribute(sc.ERROR_TYPE, self.error)
                self.span.set_status(trace_api.StatusCode.ERROR)
            self.span.end()
            self._metrics()
        except Exception as exc:
            internal_error("openai span end", exc)

    def _metrics(self) -> None:
        first_chunk = self.first_chunk
        self.telemetry.metrics.record(
            self.endpoint,
            self.shape.metric_set(self.response_model, self.error),
            _perf() - self.started,
            None if first_chunk is None else first_chunk - self.started,
            self.tokens,
        )


def _has_error(span: trace_api.Span) -> bool:
    status = getattr(span, "status", None)
    return status is not None and status.status_code is trace_api.StatusCode.ERROR


def _usage_attributes(tokens: Tokens | None, out: dict[str, AttributeValue]) -> None:
    """Token counts, named per the conventions whichever API (chat or Responses) reported them."""
    if tokens is None:
        return
    if tokens.input is not None:
        out[sc.INPUT_TOKENS] = tokens.input
    if tokens.output is not None:
        out[sc.OUTPUT_TOKENS] = tokens.output
    # Cached and reasoning tokens are written when there are some: a zero says nothing a
    # missing attribute does not, and each attribute costs on the hot path.
    if tokens.cached:
        out[sc.CACHED_INPUT_TOKENS] = tokens.cached
    if tokens.cache_write:
        out[sc.CACHE_WRITE_INPUT_TOKENS] = tokens.cache_write
    if tokens.reasoning:
        out[sc.REASONING_TOKENS] = tokens.reasoning
