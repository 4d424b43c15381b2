"""The GenAI client metrics of one model call, under the current or the previous names.

GenAI moved to its own conventions: inference calls report ``gen_ai.client.inference.duration``,
``gen_ai.client.inference.time_to_first_chunk`` (streams), monotonic token counters
``gen_ai.client.inference.usage.*`` broken down by ``gen_ai.token.modality``, and per-operation
token histograms ``gen_ai.client.inference.operation.*``; embeddings report
``gen_ai.client.embeddings.duration`` and ``gen_ai.client.embeddings.operation.input_tokens``.
These are the default. The previous names (``gen_ai.client.operation.duration`` and
``gen_ai.client.token.usage`` with ``gen_ai.token.type``) are what dashboards built before the
move read: ``OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai/dup`` emits both sets.
"""

from __future__ import annotations

import os
from typing import Any

from opentelemetry import metrics as metrics_api
from opentelemetry.util.types import AttributeValue

from obs_openai import _semconv as sc
from obs_openai._messages import get

_OPT_IN = "OTEL_SEMCONV_STABILITY_OPT_IN"


def emit_previous_names() -> bool:
    """Does ``OTEL_SEMCONV_STABILITY_OPT_IN`` ask for the pre-move GenAI metric names too?"""
    values = {v.strip() for v in os.environ.get(_OPT_IN, "").split(",")}
    return "gen_ai/dup" in values


# endpoint -> (input, output, input details, output details) usage fields; None: not reported
_CHAT_USAGE = (
    "prompt_tokens",
    "completion_tokens",
    "prompt_tokens_details",
    "completion_tokens_details",
)
USAGE_FIELDS: dict[str, tuple[str, str | None, str | None, str | None]] = {
    sc.CHAT: _CHAT_USAGE,
    sc.TEXT_COMPLETION: _CHAT_USAGE,
    sc.RESPONSES: (
        "input_tokens",
        "output_tokens",
        "input_tokens_details",
        "output_tokens_details",
    ),
    sc.EMBEDDINGS: ("prompt_tokens", None, None, None),
}
_MODALITIES = ("text", "audio", "image")


def _int(value: object) -> int | None:
    return value if type(value) is int and value >= 0 else None


def by_modality(total: int, details: object) -> list[tuple[str, int]]:
    """``total`` split by the modalities the provider reported (the rest as ``unknown``)."""
    parts: list[tuple[str, int]] = []
    counted = 0
    if details is not None:
        for modality in _MODALITIES:
            value = _int(get(details, f"{modality}_tokens"))
            if value:
                parts.append((modality, value))
                counted += value
    if total > counted:
        parts.append(("unknown", total - counted))
    return parts


def cache_write_tokens(usage: object, details: object) -> int | None:
    """Input tokens written to a provider's prompt cache, where an OpenAI-compatible API says."""
    value = _int(get(details, "cache_write_tokens")) if details is not None else None
    if value is None:
        value = _int(get(usage, "cache_creation_input_tokens"))
    return value


class GenAIMetrics:
    """The instruments, made once per instrumentation."""

    def __init__(self, meter: metrics_api.Meter) -> None:
        self.previous = emit_previous_names()

        def seconds(name: str, description: str) -> metrics_api.Histogram:
            return meter.create_histogram(
                name,
                unit="s",
                description=description,
                explicit_bucket_boundaries_advisory=list(sc.DURATION_BUCKETS),
            )

        def tokens(name: str, description: str) -> metrics_api.Histogram:
            return meter.create_histogram(
                name,
                unit="{token}",
                description=description,
                explicit_bucket_boundaries_advisory=list(sc.TOKEN_BUCKETS),
            )

        def counter(name: str, description: str) -> metrics_api.Counter:
            return meter.create_counter(name, unit="{token}", description=description)

        self.inference_duration = seconds(sc.INFERENCE_DURATION, "GenAI inference duration")
        self.first_chunk = seconds(
            sc.INFERENCE_TIME_TO_FIRST_CHUNK, "Time to the first chunk of a streamed inference"
        )
        self.usage = {
            sc.INPUT_TOKENS: counter(sc.USAGE_INPUT, "Input tokens used"),
            sc.OUTPUT_TOKENS: counter(sc.USAGE_OUTPUT, "Output tokens used"),
            sc.CACHED_INPUT_TOKENS: counter(sc.USAGE_CACHE_READ, "Input tokens read from cache"),
            sc.CACHE_WRITE_INPUT_TOKENS: counter(
                sc.USAGE_CACHE_WRITE, "Input tokens written to cache"
            ),
            sc.REASONING_TOKENS: counter(sc.USAGE_REASONING, "Output tokens used for reasoning"),
        }
        self.operation_input = tokens(sc.OPERATION_INPUT, "Input tokens per inference")
        self.operation_output = tokens(sc.OPERATION_OUTPUT, "Output tokens per inference")
        self.embeddings_duration = seconds(sc.EMBEDDINGS_DURATION, "GenAI embeddings duration")
        self.embeddings_input = tokens(sc.EMBEDDINGS_INPUT, "Input tokens per embeddings call")
        if self.previous:
            self.old_duration = seconds(sc.DURATION_METRIC, "GenAI operation duration")
            self.old_tokens = tokens(sc.TOKEN_METRIC, "Number of input and output tokens used")

    def record(
        self,
        endpoint: str,
        attributes: dict[str, AttributeValue],
        duration: float,
        first_chunk: float | None,
        usage: Any,
    ) -> None:
        input_name, output_name, input_details, output_details = USAGE_FIELDS[endpoint]
        input_tokens = _int(get(usage, input_name)) if usage is not None else None
        output_tokens = _int(get(usage, output_name)) if usage is not None and output_name else None
        if self.previous:
            self._previous(attributes, duration, input_tokens, output_tokens)
        if endpoint == sc.EMBEDDINGS:
            self.embeddings_duration.record(duration, attributes)
            if input_tokens is not None:
                self.embeddings_input.record(input_tokens, attributes)
            return
        self.inference_duration.record(duration, attributes)
        if first_chunk is not None:
            self.first_chunk.record(first_chunk, attributes)
        if input_tokens is not None:
            self.operation_input.record(input_tokens, attributes)
        if output_tokens is not None:
            self.operation_output.record(output_tokens, attributes)
        in_details = get(usage, input_details) if usage is not None and input_details else None
        out_details = get(usage, output_details) if usage is not None and output_details else None
        # The usage counters count every call, failed ones included: a call without usage adds
        # 0 under the ``unknown`` modality, so rates and totals see it.
        self._count(sc.INPUT_TOKENS, input_tokens or 0, in_details, attributes)
        self._count(sc.OUTPUT_TOKENS, output_tokens or 0, out_details, attributes)
        if in_details is not None:
            cached = _int(get(in_details, "cached_tokens"))
            if cached:
                self._count(sc.CACHED_INPUT_TOKENS, cached, None, attributes)
        written = cache_write_tokens(usage, in_details) if usage is not None else None
        if written:
            self._count(sc.CACHE_WRITE_INPUT_TOKENS, written, None, attributes)
        if out_details is not None:
            reasoning = _int(get(out_details, "reasoning_tokens"))
            if reasoning:
                self._count(sc.REASONING_TOKENS, reasoning, None, attributes)

    def _count(
        self, kind: str, total: int, details: object, attributes: dict[str, AttributeValue]
    ) -> None:
        counter = self.usage[kind]
        for modality, value in by_modality(total, details) or [("unknown", 0)]:
            counter.add(value, {**attributes, sc.TOKEN_MODALITY: modality})

    def _previous(
        self,
        attributes: dict[str, AttributeValue],
        duration: float,
        input_tokens: int | None,
        output_tokens: int | None,
    ) -> None:
        self.old_duration.record(duration, attributes)
        if input_tokens is not None:
            self.old_tokens.record(input_tokens, {**attributes, sc.TOKEN_TYPE: "input"})
        if output_tokens is not None:
            self.old_tokens.record(output_tokens, {**attributes, sc.TOKEN_TYPE: "output"})
