"""The SDK internals the lean path relies on, pinned on the installed SDK, and the fallbacks.

Each private piece is checked when obs starts using it (at import or provider creation);
these tests say which ones are in use with the installed SDK, and that turning any one off
still gives correct spans. Run them on the oldest supported SDK too:

    uv venv /tmp/otel-oldest && uv pip install --python /tmp/otel-oldest \\
        "opentelemetry-sdk==1.30.0" "opentelemetry-exporter-otlp-proto-http==1.30.0" \\
        hypothesis pytest
    PYTHONPATH=packages/core/src:. /tmp/otel-oldest/bin/python -m pytest -p no:obs \\
        tests/lean/test_sdk_internals.py tests/lean/test_equivalence.py tests/lean/test_encoder.py
"""

from __future__ import annotations

import pytest
from opentelemetry import trace as trace_api
from opentelemetry.sdk.trace import SynchronousMultiSpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from obs._lean import LeanTracerProvider, lean_status
from obs._lean import context as lean_context
from obs._lean import span as lean_span
from obs._lean import tracer as lean_tracer
from obs._otlp.exporter import FastOTLPSpanExporter
from tests.lean.test_equivalence import (
    basic,
    exceptions_and_status,
    limited,
    linked,
    remote_parents,
)
from tests.lean.twins import Collect, assert_twins


class Null(SpanExporter):
    def export(self, spans: object) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def test_every_fast_path_is_in_use_with_the_installed_sdk() -> None:
    assert lean_context.FAST, "the runtime context is no longer a ContextVar we can read"
    assert lean_tracer._DIRECT_CONTEXT, "SpanContext is no longer the 6-tuple it was"
    assert lean_span.LINK_LAYOUT, "the API's Link no longer keeps its attributes in _attributes"
    provider = LeanTracerProvider(shutdown_on_exit=False)
    batch = BatchSpanProcessor(Null())
    provider.add_span_processor(batch)
    tracer = provider.get_tracer("pin")
    assert lean_status(tracer) == "lean"
    assert isinstance(provider._active_span_processor, SynchronousMultiSpanProcessor)
    tracer.start_span("s").end()
    lean: lean_tracer.LeanTracer = tracer  # type: ignore[assignment]
    assert lean._obs_sampling == "parent_based"
    assert batch not in lean._obs_starters  # its on_start is the base no-op: skipped
    assert lean._obs_enders == (batch,)
    provider.shutdown()


def test_the_exporter_replaces_only_the_encoding_step() -> None:
    exporter = FastOTLPSpanExporter(endpoint="http://127.0.0.1:9/v1/traces")
    assert exporter._obs_layout in ("serialize_method", "client"), exporter._obs_layout
    assert exporter.encoder_in_use == "obs"
    exporter.shutdown()


@pytest.mark.parametrize("piece", ["context", "span_context", "dispatch", "sampler", "links"])
def test_spans_stay_the_same_with_a_fast_path_off(
    monkeypatch: pytest.MonkeyPatch, piece: str
) -> None:
    if piece == "context":
        monkeypatch.setattr(lean_context, "FAST", False)
        monkeypatch.setattr(lean_tracer, "_CONTEXT_VAR", None)
    elif piece == "span_context":
        monkeypatch.setattr(lean_tracer, "_DIRECT_CONTEXT", False)
    elif piece == "links":
        monkeypatch.setattr(lean_span, "LINK_LAYOUT", False)
    elif piece == "dispatch":
        # A multi-processor that is not the SDK's synchronous one is called as a whole.
        monkeypatch.setattr(lean_tracer, "SynchronousMultiSpanProcessor", type("Other", (), {}))
    else:
        monkeypatch.setattr(lean_tracer, "_default_sampler", lambda sampler: None)

    def scenario(provider: trace_api.TracerProvider) -> None:
        basic(provider)
        limited(provider)
        linked(provider)
        remote_parents(provider)
        exceptions_and_status(provider)

    assert_twins(scenario, monkeypatch)


def test_sdk_tracer_subclasses_are_left_alone() -> None:
    """Only the SDK's own Tracer class is switched; a provider made elsewhere is untouched."""
    provider = TracerProvider(shutdown_on_exit=False)
    assert lean_status(provider.get_tracer("x")).startswith("not a lean tracer")


def test_obs_exporter_sends_its_own_encoding(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bytes on the wire come from obs's writer: the reference encoder is never called.

    (A layout check that asked the exporter instance, which defines ``_serialize_spans``
    itself, once made every batch on SDK 1.40+ go through the reference encoder unnoticed.)
    """
    from opentelemetry.exporter.otlp.proto.http import trace_exporter as sdk_module

    from obs._otlp.exporter import reference_encode
    from obs.testing.otlp import OTLPReceiver

    provider = LeanTracerProvider(shutdown_on_exit=False)
    keep = Collect()
    provider.add_span_processor(keep)
    tracer = provider.get_tracer("wire", "1.0")
    for i in range(3):
        tracer.start_span("GET /items/{id}", attributes={"n": i, "url.path": "/items/1"}).end()
    expected = reference_encode(keep.spans)

    def refuse(*args: object, **kwargs: object) -> object:
        raise AssertionError("the reference encoder was used")

    with OTLPReceiver() as receiver:
        exporter = FastOTLPSpanExporter(endpoint=f"{receiver.endpoint}/v1/traces")
        monkeypatch.setattr(sdk_module, "encode_spans", refuse)
        assert exporter.export(keep.spans) is SpanExportResult.SUCCESS
        exporter.shutdown()
        assert receiver.raw() == [expected]
    assert exporter.fallbacks == 0
