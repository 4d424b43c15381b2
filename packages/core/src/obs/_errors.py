"""Recording an exception on a span the same way everywhere."""

from __future__ import annotations

from opentelemetry.trace import Span, Status, StatusCode


def error_type(exc: BaseException) -> str:
    """``error.type``: the class name, qualified by its module unless it is a builtin."""
    cls = type(exc)
    module = cls.__module__
    if module in ("builtins", "__main__"):
        return cls.__qualname__
    return f"{module}.{cls.__qualname__}"


def describe(exc: BaseException) -> str:
    try:
        text = str(exc)
    except Exception:
        text = "<unprintable>"
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


def record_exception(span: Span, exc: BaseException, *, escaped: bool = True) -> None:
    """Mark ``span`` failed by ``exc``: status, ``error.type`` and an exception event."""
    try:
        span.set_attribute("error.type", error_type(exc))
        span.record_exception(exc, escaped=escaped)
        span.set_status(Status(StatusCode.ERROR, describe(exc)))
    except Exception:  # a broken exception object must not break the host's error path
        span.set_status(Status(StatusCode.ERROR))
