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
from typing import NamedTuple

from opentelemetry import metrics as metrics_api
from opentelemetry.util.types import AttributeValue

from obs.instrumentation import BoundedCache, BoundHistogram
from obs_openai import _semconv as sc
from obs_openai._messages import get, optional

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
_MODALITY_FIELDS = tuple((m, f"{m}_tokens") for m in ("text", "audio", "image"))


def _int(value: object) -> int | None:
    return value if type(value) is int and value >= 0 else None


def by_modality(total: int, details: object) -> list[tuple[str, int]]:
    """``total`` split by the modalities the provider reported (the rest as ``unknown``)."""
    parts: list[tuple[str, int]] = []
    counted = 0
    if details is not None:
        for modality, field in _MODALITY_FIELDS:
            value = _int(optional(details, field))
            if value:
                parts.append((modality, value))
                counted += value
    if total > counted:
        parts.append(("unknown", total - counted))
    return parts


def cache_write_tokens(usage: object, details: object) -> int | None:
    """Input tokens written to a provider's prompt cache, where an OpenAI-compatible API says."""
    value = _int(optional(details, "cache_write_tokens")) if details is not None else None
    if value is None:
        value = _int(optional(usage, "cache_creation_input_tokens"))
    return value


class Tokens(NamedTuple):
    """A call's token counts, read from its usage object once (for the span and the metrics).

    Counts are the reported ints as they are (``_int`` keeps the non-negative ones for the
    metrics); None where the usage did not report one.
    """

    input: int | None
    output: int | None
    cached: int | None
    cache_write: int | None
    reasoning: int | None
    input_details: object
    output_details: object


def _reported(value: object) -> int | None:
    return value if type(value) is int else None


def read_tokens(usage: object, endpoint: str) -> Tokens | None:
    """The token counts of ``usage`` (None when the call reported none)."""
    if usage is None:
        return None
    input_name, output_name, input_details, output_details = USAGE_FIELDS[endpoint]
    input_tokens = _reported(get(usage, input_name))
    if output_name is None:  # embeddings: input tokens only
        return Tokens(input_tokens, None, None, None, None, None, None)
    in_details = get(usage, input_details) if input_details else None
    out_details = get(usage, output_details) if output_details else None
    return Tokens(
        input_tokens,
        _reported(get(usage, output_name)),
        None if in_details is None else _reported(get(in_details, "cached_tokens")),
        cache_write_tokens(usage, in_details),
        None if out_details is None else _reported(get(out_details, "reasoning_tokens")),
        in_details,
        out_details,
    )


class MetricSet:
    """One metric attribute set of a kind of call, its token-modality variants and its bound
    histogram handles, each made once (``_call.CallShape`` keeps a few sets per shape)."""

    __slots__ = ("attributes", "handles", "modalities")

    def __init__(self, attributes: dict[str, AttributeValue]) -> None:
        self.attributes = attributes
        self.modalities: dict[str, dict[str, AttributeValue]] = {}
        # id(histogram) -> (histogram, its handle bound to ``attributes``); the histogram is
        # kept and compared, so a new instrumentation's instruments never reuse a stale id.
        self.handles: BoundedCache[int, tuple[metrics_api.Histogram, BoundHistogram]] = (
            BoundedCache(16)
        )

    def with_modality(self, modality: str) -> dict[str, AttributeValue]:
        found = self.modalities.get(modality)
        if found is None:
            found = self.modalities[modality] = {**self.attributes, sc.TOKEN_MODALITY: modality}
        return found

    def record(self, histogram: metrics_api.Histogram, amount: float) -> None:
        """``histogram.record(amount, self.attributes)``, through a bound handle."""
        entry = self.handles.get(id(histogram))
        if entry is None or entry[0] is not histogram:
            entry = (histogram, BoundHistogram(histogram, self.attributes))
            self.handles.put(id(histogram), entry)
        entry[1].record(amount)


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
        metric_set: MetricSet,
        duration: float,
        first_chunk: float | None,
        tokens: Tokens | None,
    ) -> None:
        attributes = metric_set.attributes
        if tokens is None:
            input_tokens = output_tokens = None
        else:
            input_tokens, output_tokens = _int(tokens.input), _int(tokens.output)
        if self.previous:
            self._previous(attributes, duration, input_tokens, output_tokens)
        if endpoint == sc.EMBEDDINGS:
            metric_set.record(self.embeddings_duration, duration)
            if input_tokens is not None:
                metric_set.record(self.embeddings_input, input_tokens)
            return
        metric_set.record(self.inference_duration, duration)
        if first_chunk is not None:
            metric_set.record(self.first_chunk, first_chunk)
        if input_tokens is not None:
            metric_set.record(self.operation_input, input_tokens)
        if output_tokens is not None:
            metric_set.record(self.operation_output, output_tokens)
        # The usage counters count every call, failed ones included: a call without usage adds
        # 0 under the ``unknown`` modality, so rates and totals see it.
        if tokens is None:
            self._count(sc.INPUT_TOKENS, 0, None, metric_set)
            self._count(sc.OUTPUT_TOKENS, 0, None, metric_set)
            return
        self._count(sc.INPUT_TOKENS, input_tokens or 0, tokens.input_details, metric_set)
        self._count(sc.OUTPUT_TOKENS, output_tokens or 0, tokens.output_details, metric_set)
        cached = _int(tokens.cached)
        if cached:
            self._count(sc.CACHED_INPUT_TOKENS, cached, None, metric_set)
        if tokens.cache_write:
            self._count(sc.CACHE_WRITE_INPUT_TOKENS, tokens.cache_write, None, metric_set)
        reasoning = _int(tokens.reasoning)
        if reasoning:
            self._count(sc.REASONING_TOKENS, reasoning, None, metric_set)

    def _count(self, kind: str, total: int, details: object, metric_set: MetricSet) -> None:
        counter = self.usage[kind]
        for modality, value in by_modality(total, details) or [("unknown", 0)]:
            counter.add(value, metric_set.with_modality(modality))

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
