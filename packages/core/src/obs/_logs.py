"""Logs as zero-duration spans.

A log is an instant span: it is exported at once (no parent has to end first) and carries the
trace context, so it sits in the trace where it happened. The span is named by the template,
so logs group by template; the rendered message is ``obs.msg``.
"""

from __future__ import annotations

import sys
import time
import warnings
from typing import Any

from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer

from obs import _spans
from obs._attributes import to_attributes
from obs._diagnostics import internal_error, once
from obs._errors import record_exception
from obs._messages import render
from obs._runtime import runtime
from obs._settings import LEVELS

_INTERNAL = SpanKind.INTERNAL


_ERROR = LEVELS["error"]
_runtime = runtime()


def log(
    level: str, template: str, attributes: dict[str, Any], exc: BaseException | None = None
) -> None:
    try:
        number = LEVELS[level]
        if number < _runtime.settings.min_level_num:
            return
        emit(level, template, render(template, attributes), to_attributes(attributes), exc)
    except Exception as error:
        internal_error("log", error)


def emit(
    level: str,
    template: str,
    message: str,
    attrs: dict[str, Any],
    exc: BaseException | None = None,
    time_ns: int | None = None,
    tracer: Tracer | None = None,
) -> None:
    """Record one log span: ``attrs`` already converted, ``message`` already rendered.

    The way in for the logging bridges (stdlib, structlog, loguru), whose records come
    rendered by their own library. The caller checks the level and catches failures.
    """
    number = LEVELS[level]
    attrs["obs.span_type"] = "log"
    attrs["obs.level"] = level
    attrs["obs.level_num"] = number
    attrs["obs.msg_template"] = template
    attrs["obs.msg"] = message
    now = time_ns or time.time_ns()
    chosen = tracer or _spans._tracer
    # Past obs's swappable proxy to the tracer behind it, as ``obs.span`` does.
    chosen = getattr(chosen, "_real", chosen)
    span = chosen.start_span(template, None, _INTERNAL, attrs, None, now)
    if exc is not None:
        record_exception(span, exc, escaped=False)
    elif number >= _ERROR:
        span.set_status(Status(StatusCode.ERROR, message))
    span.end(now)


def trace_log(msg_template: str, /, **attributes: Any) -> None:
    """Log at level trace (the finest): ``obs.trace_log("cache probe {key}", key=key)``."""
    log("trace", msg_template, attributes)


class _DeprecatedTrace:
    """``obs.trace``: the old name of ``obs.trace_log``, kept working with a warning.

    "trace" also names a whole trace (``obs trace ID`` on the command line) and reads like a
    decorator; ``@obs.trace`` on a function used to log its repr and return None, breaking the
    function silently. Now it fails at once and names the decorator that was meant.
    """

    __slots__ = ()

    def __call__(self, msg_template: Any = None, /, *args: Any, **attributes: Any) -> None:
        if not isinstance(msg_template, str) or args:
            raise TypeError(
                "obs.trace is a TRACE-level log (renamed obs.trace_log), not a decorator: "
                "use @obs.traced to trace a function"
            )
        if once("deprecated:obs.trace"):
            warnings.warn(
                "obs.trace(...) is renamed obs.trace_log(...) (a TRACE-level log); "
                "obs.trace will be removed in a future release",
                DeprecationWarning,
                stacklevel=2,
            )
        log("trace", msg_template, attributes)

    def __repr__(self) -> str:
        return "<obs.trace: deprecated alias of obs.trace_log>"


trace = _DeprecatedTrace()


def debug(msg_template: str, /, **attributes: Any) -> None:
    """Log at level debug."""
    log("debug", msg_template, attributes)


def info(msg_template: str, /, **attributes: Any) -> None:
    """Log at level info: ``obs.info("user {name} created", name=name)``."""
    log("info", msg_template, attributes)


def notice(msg_template: str, /, **attributes: Any) -> None:
    """Log at level notice."""
    log("notice", msg_template, attributes)


def warn(msg_template: str, /, **attributes: Any) -> None:
    """Log at level warn."""
    log("warn", msg_template, attributes)


def error(msg_template: str, /, **attributes: Any) -> None:
    """Log at level error (the log span's status is ERROR)."""
    log("error", msg_template, attributes)


def fatal(msg_template: str, /, **attributes: Any) -> None:
    """Log at level fatal (the log span's status is ERROR)."""
    log("fatal", msg_template, attributes)


def exception(msg_template: str, /, **attributes: Any) -> None:
    """Log at level error with the exception being handled recorded on the log span."""
    log("error", msg_template, attributes, sys.exc_info()[1])
