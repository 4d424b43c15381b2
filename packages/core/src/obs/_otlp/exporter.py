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
- anything else: the SDK's exporter runs unchanged (reference encoder), and
  ``encoder_in_use`` says so. ``tests/lean/test_otlp_exporter.py`` pins both layouts.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http import trace_exporter as _sdk_module
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult

from obs._otlp.encode import SpanWriter, Unsupported

_logger = logging.getLogger(_sdk_module.__name__)  # the SDK's own lines keep their logger


def reference_encode(spans: Sequence[ReadableSpan]) -> bytes:
    """The reference encoder's bytes (the fallback, and the tests' oracle)."""
    return encode_spans(spans).SerializePartialToString()  # type: ignore[no-any-return]


def _reference_writes_scope_schema_url() -> bool:
    """Newer reference encoders write ScopeSpans.schema_url; older ones leave it out."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope
    from opentelemetry.trace import SpanContext

    probe = ReadableSpan(
        "probe",
        context=SpanContext(1, 1, False),
        resource=Resource({}),
        instrumentation_scope=InstrumentationScope("probe", "1", "https://obs.invalid/s"),
    )
    return b"https://obs.invalid/s" in reference_encode([probe])


def _layout(exporter: OTLPSpanExporter) -> str:
    if callable(getattr(exporter, "_serialize_spans", None)):
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
        self._writer = SpanWriter(scope_schema_url=_reference_writes_scope_schema_url())
        self._obs_layout = _layout(self)
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
