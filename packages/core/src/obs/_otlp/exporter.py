"""obs's OTLP/HTTP span exporter: the SDK's exporter with the encoding step replaced.

Everything but encoding stays the SDK's: endpoint and header resolution, the HTTP session,
compression, retries with back-off, timeouts, shutdown, its own metrics and log lines. Only
the bytes are produced by ``SpanWriter`` (byte-identical to the reference encoder, several
times cheaper); a batch the writer cannot encode goes through the reference encoder.

Where the encoding step sits differs between SDK releases, so the exporter looks at the
installed one when it is created:

- releases with a ``_serialize_spans`` method (1.30 to about 1.39): that method is replaced;
- releases whose ``export`` encodes inline then calls ``self._client.export(bytes)`` (1.40+):
  ``export`` is re-stated with the same steps around the new encoder;
- anything else, or a reference encoder whose bytes differ from the writer's on a probe batch
  (checked when the exporter is made): the SDK's exporter runs unchanged (reference
  encoder), and ``encoder_in_use`` says so. ``tests/lean/test_otlp_exporter.py`` pins both layouts.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http import trace_exporter as _sdk_module
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.trace.span import TraceState

from obs._otlp.encode import Dialect, SpanWriter, Unsupported

_logger = logging.getLogger(_sdk_module.__name__)  # the SDK's own lines keep their logger


def reference_encode(spans: Sequence[ReadableSpan]) -> bytes:
    """The reference encoder's bytes (the fallback, and the tests' oracle)."""
    return encode_spans(spans).SerializePartialToString()  # type: ignore[no-any-return]


def reference_dialect() -> Dialect:
    """Probe the installed reference encoder where its releases differ."""
    scope = InstrumentationScope("probe", "1", "https://obs.invalid/s", {"obs.scope": "a"})
    probe = ReadableSpan(
        "probe",
        context=SpanContext(1, 1, False),
        resource=Resource({}),
        attributes={"obs.none": None},
        instrumentation_scope=scope,
    )
    logger = logging.getLogger("opentelemetry.exporter.otlp.proto.common._internal")
    disabled, logger.disabled = logger.disabled, True  # the None probe logs an error on old SDKs
    try:
        encoded = reference_encode([probe])
    finally:
        logger.disabled = disabled
    return Dialect(
        scope_schema_url=b"https://obs.invalid/s" in encoded,
        scope_attributes=b"obs.scope" in encoded,
        none_values=b"obs.none" in encoded,
    )


def _self_check(writer: SpanWriter) -> bool:
    """The writer's bytes equal the reference's on spans using every feature it writes."""
    remote = SpanContext(3, 4, True, TraceFlags(1), TraceState([("k", "v")]))
    scopes = [None, InstrumentationScope("s", "1", "https://obs.invalid/s", {"a": 1})]
    spans = [
        ReadableSpan(
            f"span {i} ü",
            context=SpanContext(1 << 100, 10 + i, False, TraceFlags(1), TraceState([("t", "1")])),
            parent=remote if i % 2 else None,
            resource=Resource({"service.name": "probe", "n": i % 2}, "https://obs.invalid/r"),
            attributes={
                "s": "x" * 200,
                "i": -(1 << 40),
                "f": 0.5,
                "b": True,
                "t": ("a", "b"),
                "e": (),
                "by": b"\x00",
                "m": {"k": [1, 2]},
            },
            events=[Event("e", {"x": 1}, 5), Event("", None, 6)],
            links=[Link(remote, {"l": "v"}), Link(SpanContext(5, 6, False))],
            kind=SpanKind(i % 5),
            status=[Status(StatusCode.ERROR, "d"), Status(StatusCode.OK), Status()][i % 3],
            start_time=100 + i,
            end_time=200 + i if i != 3 else None,
            instrumentation_scope=scopes[i % 2],
        )
        for i in range(6)
    ]
    try:
        return writer.encode(spans) == reference_encode(spans)
    except Exception:
        return False


def _layout(exporter: OTLPSpanExporter) -> str:
    # The SDK's class, not the instance: ``FastOTLPSpanExporter`` defines ``_serialize_spans``
    # itself, so asking the instance always said "serialize_method" and, on SDKs whose
    # ``export`` never calls it (1.40+), every batch went through the reference encoder.
    if callable(getattr(OTLPSpanExporter, "_serialize_spans", None)):
        return "serialize_method"
    needed = ("_is_request_too_large", "RequestPayloadTooLargeError")
    if (
        hasattr(exporter, "_client")
        and hasattr(exporter, "_metrics")
        and hasattr(exporter, "_max_request_size")
        and all(hasattr(_sdk_module, name) for name in needed)
    ):
        return "client"
    return "reference"


class FastOTLPSpanExporter(OTLPSpanExporter):
    """``OTLPSpanExporter`` whose encoding is obs's direct writer (same bytes)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._writer = SpanWriter(reference_dialect())
        # A release of the reference encoder that writes something differently: its bytes.
        self._obs_layout = _layout(self) if _self_check(self._writer) else "reference"
        #: batches the direct writer handed to the reference encoder
        self.fallbacks = 0

    @property
    def encoder_in_use(self) -> str:
        return "reference" if self._obs_layout == "reference" else "obs"

    def encode(self, spans: Sequence[ReadableSpan]) -> bytes:
        try:
            return self._writer.encode(spans)
        except (Unsupported, AttributeError, TypeError, ValueError, OverflowError, KeyError):
            self.fallbacks += 1
            return reference_encode(spans)

    # 1.30-1.39 layout: the SDK calls this, then its own retrying sender.
    def _serialize_spans(self, spans: Sequence[ReadableSpan]) -> bytes:
        return self.encode(spans)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._obs_layout != "client":
            return super().export(spans)
        # 1.40+ layout, step for step as the SDK's export, with the encoding replaced.
        if self._shutdown:
            _logger.warning("Exporter already shutdown, ignoring batch")
            return SpanExportResult.FAILURE
        sdk: Any = _sdk_module
        owner: Any = self
        with owner._metrics.export_operation(len(spans)) as result:
            try:
                serialized = self.encode(spans)
            except Exception as error:
                _logger.error("Failed to encode span batch: %s", error)
                result.error = error
                return SpanExportResult.FAILURE
            if sdk._is_request_too_large(serialized, owner._max_request_size):
                _logger.warning(
                    "Dropping span batch: serialized size %d bytes exceeds max_request_size "
                    "%d bytes.",
                    len(serialized),
                    owner._max_request_size,
                )
                result.error = sdk.RequestPayloadTooLargeError(
                    f"Serialized span request size {len(serialized)} bytes exceeds "
                    f"max_request_size {owner._max_request_size} bytes."
                )
                return SpanExportResult.FAILURE
            answer = owner._client.export(serialized)
            if not answer.success:
                result.error = answer.error
                if answer.status_code is not None:
                    result.error_attrs = {"http.response.status_code": answer.status_code}
                else:
                    result.error_attrs = None
                return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS
