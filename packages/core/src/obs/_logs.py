"""Logs as zero-duration spans.

A log is an instant span: it is exported at once (no parent has to end first) and carries the
trace context, so it sits in the trace where it happened. The span is named by the template,
so logs group by template; the rendered message is ``obs.msg``.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from opentelemetry.trace import Status, StatusCode

from obs import _settings, _spans
from obs._attributes import to_attributes
from obs._diagnostics import internal_error
from obs._errors import record_exception
from obs._messages import render
from obs._settings import LEVELS


def log(
    level: str, template: str, attributes: dict[str, Any], exc: BaseException | None = None
) -> None:
    try:
        number = LEVELS[level]
        if number < _settings.current().min_level_num:
            return
        attrs = to_attributes(attributes)
        attrs["obs.span_type"] = "log"
        attrs["obs.level"] = level
        attrs["obs.level_num"] = number
        attrs["obs.msg_template"] = template
        attrs["obs.msg"] = render(template, attributes)
        now = time.time_ns()
        span = _spans.tracer().start_span(template, attributes=attrs, start_time=now)
        if exc is not None:
            record_exception(span, exc, escaped=False)
        elif number >= LEVELS["error"]:
            span.set_status(Status(StatusCode.ERROR, attrs["obs.msg"]))  # type: ignore[arg-type]
        span.end(end_time=now)
    except Exception as error:
        internal_error("log", error)


def trace(msg_template: str, /, **attributes: Any) -> None:
    """Log at level trace (the finest)."""
    log("trace", msg_template, attributes)


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
