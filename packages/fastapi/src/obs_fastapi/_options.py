"""What ``instrument_app`` and the middleware accept, resolved once per app.

Everything that can be decided before the first request is decided here (compiled patterns,
lower-cased header sets), so the per-request path only reads the result.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import TracerProvider

from obs.instrumentation import IntegrationOptions, PropagationPolicy, parse_policy

#: Read when ``excluded_urls`` is not given: comma-separated regular expressions.
EXCLUDED_URLS_ENV = "OBS_FASTAPI_EXCLUDED_URLS"
#: Honoured too, so a move from OpenTelemetry contrib keeps its health-check exclusions.
_CONTRIB_EXCLUDED_URLS_ENV = ("OTEL_PYTHON_FASTAPI_EXCLUDED_URLS", "OTEL_PYTHON_EXCLUDED_URLS")

#: Query parameters whose value is a credential by construction (OpenTelemetry's HTTP
#: conventions list these; pre-signed URLs carry them). Their value becomes ``REDACTED`` before
#: it is written, whatever the scrubbing settings; names like ``token=`` or ``password=`` are
#: already caught by obs's scrubbing pipeline.
SENSITIVE_QUERY_PARAMETERS: tuple[str, ...] = (
    "AWSAccessKeyId",
    "Signature",
    "sig",
    "X-Goog-Signature",
    "X-Goog-Credential",
    "X-Amz-Signature",
    "X-Amz-Credential",
    "X-Amz-Security-Token",
)

#: Headers whose value is never recorded, even when header capture asks for every header and
#: even when scrubbing is switched off: they carry credentials by definition.
SENSITIVE_HEADERS: frozenset[bytes] = frozenset(
    {
        b"authorization",
        b"proxy-authorization",
        b"cookie",
        b"set-cookie",
        b"x-api-key",
        b"api-key",
        b"x-auth-token",
        b"x-csrf-token",
        b"x-xsrf-token",
        b"x-amz-security-token",
    }
)

HeaderSelection = bool | Sequence[str]


@dataclass(frozen=True)
class Options:
    """The resolved options of one instrumented app (see ``instrument_app``)."""

    #: Searched in the request path; a match means no span and (almost) no cost.
    excluded: re.Pattern[str] | None = None
    #: Per-app override of the core propagation policy (None: follow ``obs.configure``).
    propagation: PropagationPolicy | None = None
    #: Request/response headers to record: None (none), "all", or a set of lower-case names.
    request_headers: frozenset[bytes] | str | None = None
    response_headers: frozenset[bytes] | str | None = None
    #: None: follow ``obs.configure(capture_content=...)``.
    capture_arguments: bool | None = None
    capture_validation_errors: bool | None = None
    #: FastAPI's own ``fastapi.dependencies`` / ``fastapi.endpoint`` / ... spans, as children.
    operation_spans: bool = False
    #: Leave FastAPI's native request metrics / logs on for the app (tracing is always obs's).
    keep_native_metrics: bool = False
    keep_native_logs: bool = False
    redact_query: re.Pattern[str] | None = None
    tracer_provider: TracerProvider | None = None
    meter_provider: MeterProvider | None = None


def _patterns(value: str | Sequence[str] | None) -> re.Pattern[str] | None:
    if value is None:
        raw = os.environ.get(EXCLUDED_URLS_ENV)
        for name in _CONTRIB_EXCLUDED_URLS_ENV:
            if raw is None:
                raw = os.environ.get(name)
        value = raw or ()
    if isinstance(value, str):
        value = value.split(",")
    parts = [p.strip() for p in value if p and p.strip()]
    if not parts:
        return None
    # One compiled alternation: one search per request, whatever the number of patterns.
    return re.compile("|".join(f"(?:{p})" for p in parts))


def _headers(value: HeaderSelection | None, option: str) -> frozenset[bytes] | str | None:
    if value is None or value is False:
        return None
    if value is True:
        return "all"
    if isinstance(value, (str, bytes)):
        raise TypeError(f"obs_fastapi: {option} takes True or a list of header names, not a string")
    return frozenset(name.strip().lower().encode("latin-1") for name in value if name.strip())


def _redaction(extra: Sequence[str]) -> re.Pattern[str]:
    names = "|".join(re.escape(n) for n in (*SENSITIVE_QUERY_PARAMETERS, *extra) if n)
    return re.compile(rf"(^|&)({names})=([^&]*)", re.IGNORECASE)


def resolve_options(
    *,
    excluded_urls: str | Sequence[str] | None = None,
    propagation: PropagationPolicy | str | None = None,
    capture_request_headers: HeaderSelection = False,
    capture_response_headers: HeaderSelection = False,
    capture_arguments: bool | None = None,
    capture_validation_errors: bool | None = None,
    operation_spans: bool = False,
    keep_native_metrics: bool = False,
    keep_native_logs: bool = False,
    sensitive_query_parameters: Sequence[str] = (),
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
) -> Options:
    """Validate and pre-compute the options; unknown names raise ``TypeError`` at set-up."""
    if isinstance(sensitive_query_parameters, str):
        sensitive_query_parameters = [sensitive_query_parameters]
    return Options(
        excluded=_patterns(excluded_urls),
        propagation=None if propagation is None else parse_policy(propagation),
        request_headers=_headers(capture_request_headers, "capture_request_headers"),
        response_headers=_headers(capture_response_headers, "capture_response_headers"),
        capture_arguments=capture_arguments,
        capture_validation_errors=capture_validation_errors,
        operation_spans=bool(operation_spans),
        keep_native_metrics=bool(keep_native_metrics),
        keep_native_logs=bool(keep_native_logs),
        redact_query=_redaction(sensitive_query_parameters),
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
    )


@dataclass(frozen=True)
class FastAPIOptions(IntegrationOptions):
    """``obs.instrument("fastapi", **options)``: the options of ``instrument_app``.

    ``capture_content`` (shared by every integration) is the default of ``capture_arguments``
    and ``capture_validation_errors``.
    """

    excluded_urls: str | Sequence[str] | None = None
    capture_request_headers: HeaderSelection = False
    capture_response_headers: HeaderSelection = False
    capture_arguments: bool | None = None
    capture_validation_errors: bool | None = None
    operation_spans: bool = False
    keep_native_metrics: bool = False
    keep_native_logs: bool = False
    sensitive_query_parameters: Sequence[str] = ()

    def resolve(self) -> Options:
        """The per-app options, computed once for every app the integration instruments."""
        content = self.capture_content
        arguments, errors = self.capture_arguments, self.capture_validation_errors
        return resolve_options(
            excluded_urls=self.excluded_urls,
            propagation=self.policy(),
            capture_request_headers=self.capture_request_headers,
            capture_response_headers=self.capture_response_headers,
            capture_arguments=content if arguments is None else arguments,
            capture_validation_errors=content if errors is None else errors,
            operation_spans=self.operation_spans,
            keep_native_metrics=self.keep_native_metrics,
            keep_native_logs=self.keep_native_logs,
            sensitive_query_parameters=self.sensitive_query_parameters,
            tracer_provider=self.tracer_provider,
            meter_provider=self.meter_provider,
        )


def options_from(options: Options | None, kwargs: dict[str, Any]) -> Options:
    if options is not None:
        if kwargs:
            raise TypeError("obs_fastapi: pass either options= or keyword options, not both")
        return options
    return resolve_options(**kwargs)
