"""``instrument_app``: obs's middleware outermost in an app's stack, native tracing off.

The middleware goes around the stack the app builds (``build_middleware_stack``), outside
Starlette's error middleware, so the 500 that middleware sends for an unhandled exception, and
the exception itself, are on the span. Works for FastAPI and plain Starlette apps, built or not
yet built (a built stack is dropped and rebuilt on the next request).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from obs_fastapi import _native
from obs_fastapi._middleware import ObsMiddleware
from obs_fastapi._options import Options, options_from

_STATE = "_obs_fastapi"


@dataclass
class _Instrumented:
    options: Options
    #: The instance attribute ``build_middleware_stack`` had before (usually none).
    previous_build: Callable[[], Any] | None
    native_saved: dict[str, Any] | None


def instrument_app(app: Any, *, options: Options | None = None, **kwargs: Any) -> None:
    """Give every request of ``app`` (FastAPI or Starlette) one obs server span.

    Options (all keyword):

    - ``excluded_urls``: regular expressions searched in the request path (a string is split on
      commas); matching requests get no span. Default: ``OBS_FASTAPI_EXCLUDED_URLS``, else
      OpenTelemetry contrib's ``OTEL_PYTHON_FASTAPI_EXCLUDED_URLS``.
    - ``propagation``: ``"trust"`` / ``"strict"`` / ``"link"`` / ``"ignore"`` for this app
      (default: obs's).
    - ``capture_request_headers`` / ``capture_response_headers``: ``True`` or a list of names.
      Credential headers (authorization, cookie, set-cookie, API keys...) are never recorded.
    - ``capture_arguments`` / ``capture_validation_errors``: the endpoint's validated arguments
      and the request validation errors behind a 422 (default: ``capture_content``).
    - ``operation_spans``: FastAPI's ``fastapi.dependencies`` / ``fastapi.endpoint`` /
      ``fastapi.serialization`` / ``fastapi.background_task`` spans as children.
    - ``keep_native_metrics`` / ``keep_native_logs``: leave FastAPI's own request metrics or
      logs on for this app (its tracing is always switched off: obs's span replaces it).
    - ``sensitive_query_parameters``: more query parameters whose value is redacted.
    - ``tracer_provider``: use this provider instead of the global one.

    Calling it again re-instruments with the new options.
    """
    opts = options_from(options, kwargs)
    if is_instrumented(app):
        uninstrument_app(app)
    previous = vars(app).get("build_middleware_stack")
    build = app.build_middleware_stack

    def build_middleware_stack() -> Any:
        return ObsMiddleware(build(), options=opts, route_source=app)

    native_saved = _native.switch_off(app, opts)
    app.build_middleware_stack = build_middleware_stack
    setattr(app, _STATE, _Instrumented(opts, previous, native_saved))
    app.middleware_stack = None  # rebuilt, with obs outermost, on the next request


def uninstrument_app(app: Any) -> None:
    """Undo ``instrument_app``: the app's stack and native telemetry settings as they were."""
    state = vars(app).pop(_STATE, None)
    if not isinstance(state, _Instrumented):
        return
    if state.previous_build is None:
        vars(app).pop("build_middleware_stack", None)
    else:
        app.build_middleware_stack = state.previous_build
    _native.restore(app, state.native_saved)
    app.middleware_stack = None


def is_instrumented(app: Any) -> bool:
    return isinstance(vars(app).get(_STATE), _Instrumented)


def app_options(app: Any) -> Options | None:
    state = vars(app).get(_STATE)
    return state.options if isinstance(state, _Instrumented) else None
