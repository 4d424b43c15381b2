"""Hand-written spans: ``obs.span`` and ``@obs.traced``."""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncGenerator, Callable, Generator, Mapping
from types import TracebackType
from typing import Any, TypeVar, overload

from opentelemetry import context as context_api
from opentelemetry import trace as trace_api
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind

from obs._attributes import to_attributes
from obs._errors import record_exception
from obs._lean.context import SPAN_KEY, attach_span, context_var, detach
from obs._messages import render
from obs._version import VERSION

F = TypeVar("F", bound=Callable[..., Any])

_tracer: trace_api.Tracer = trace_api.get_tracer("obs", VERSION)
#: The runtime context's variable when setting it directly is safe (else None: the API).
_CONTEXT_VAR = context_var()


def refresh_tracer() -> None:
    """Re-fetch obs's own tracer after configure (skips the API's proxy indirection)."""
    global _tracer
    _tracer = trace_api.get_tracer("obs", VERSION)


def tracer() -> trace_api.Tracer:
    return _tracer


def span_attributes(name: str, attributes: Mapping[str, Any]) -> dict[str, Any]:
    converted = to_attributes(attributes)
    if "{" in name:
        # A templated name groups by template; the rendered text is the message.
        converted["obs.msg_template"] = name
        converted["obs.msg"] = render(name, attributes)
    return converted


class SpanContextManager:
    """``with obs.span(...) as span``: a class rather than a generator, for speed."""

    __slots__ = ("_attributes", "_kind", "_name", "_span", "_token")

    def __init__(self, name: str, attributes: dict[str, Any], kind: SpanKind) -> None:
        self._name = name
        self._attributes = attributes
        self._kind = kind

    def __enter__(self) -> Span:
        # Past obs's swappable proxy to the tracer behind it: one call less per span.
        tracer = getattr(_tracer, "_real", _tracer)
        span = tracer.start_span(
            self._name, None, self._kind, self._attributes, None, None, False, False
        )
        self._span = span
        if _CONTEXT_VAR is not None:  # ``attach_span``, inline
            self._token = _CONTEXT_VAR.set(Context({**_CONTEXT_VAR.get(), SPAN_KEY: span}))
        else:
            self._token = attach_span(span)
        return span

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if _CONTEXT_VAR is not None:  # ``detach``, inline
            try:
                _CONTEXT_VAR.reset(self._token)
            except Exception:
                detach(self._token)  # fails the same way, and logs it as the API does
        else:
            detach(self._token)
        if exc is not None:
            record_exception(self._span, exc)
        self._span.end()


def span(
    name: str, /, *, _kind: SpanKind = SpanKind.INTERNAL, **attributes: Any
) -> SpanContextManager:
    """A span around a block; exceptions are recorded and re-raised unchanged.

    ``name`` may be a template (``"charge {order_id}"``): the span is named by the template and
    the rendered text is kept as ``obs.msg``.
    """
    converted = to_attributes(attributes)  # span_attributes, inlined: one call less per span
    if "{" in name:
        converted["obs.msg_template"] = name
        converted["obs.msg"] = render(name, attributes)
    return SpanContextManager(name, converted, _kind)


@overload
def traced(func: F, /) -> F: ...
@overload
def traced(
    *, name: str | None = None, attributes: Mapping[str, Any] | None = None
) -> Callable[[F], F]: ...


def traced(
    func: F | None = None,
    /,
    *,
    name: str | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> F | Callable[[F], F]:
    """Trace every call of a function (sync, async, generator or async generator).

    The span is named by ``name`` or the function's qualified name. For generators the span
    lasts from the first item to exhaustion or close, and is current only while the
    generator's own code runs, so the consumer's work between items is not nested under it.
    """

    def decorate(fn: F) -> F:
        span_name = name or fn.__qualname__
        attrs = to_attributes(attributes or {})
        attrs.setdefault("code.function.name", f"{fn.__module__}.{fn.__qualname__}")
        if inspect.isasyncgenfunction(fn):
            return _wrap_async_generator(fn, span_name, attrs)  # type: ignore[return-value]
        if inspect.isgeneratorfunction(fn):
            return _wrap_generator(fn, span_name, attrs)  # type: ignore[return-value]
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with SpanContextManager(span_name, attrs, SpanKind.INTERNAL):
                    return await fn(*args, **kwargs)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with SpanContextManager(span_name, attrs, SpanKind.INTERNAL):
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    if func is not None:
        return decorate(func)
    return decorate


def _wrap_generator(
    fn: Callable[..., Generator[Any, Any, Any]], name: str, attrs: dict[str, Any]
) -> Callable[..., Generator[Any, Any, Any]]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
        gen = fn(*args, **kwargs)
        span = _tracer.start_span(name, attributes=attrs, record_exception=False)
        ctx = trace_api.set_span_in_context(span)
        sent: Any = None
        thrown: BaseException | None = None
        try:
            while True:
                token = context_api.attach(ctx)
                try:
                    item = gen.throw(thrown) if thrown is not None else gen.send(sent)
                finally:
                    context_api.detach(token)
                thrown = None
                try:
                    sent = yield item
                except GeneratorExit:
                    gen.close()
                    raise
                except BaseException as exc:  # delivered into the wrapped generator
                    thrown = exc
        except StopIteration as stop:
            return stop.value
        except GeneratorExit:
            raise
        except BaseException as exc:
            record_exception(span, exc)
            raise
        finally:
            span.end()

    return wrapper


def _wrap_async_generator(
    fn: Callable[..., AsyncGenerator[Any, Any]], name: str, attrs: dict[str, Any]
) -> Callable[..., AsyncGenerator[Any, Any]]:
    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
        gen = fn(*args, **kwargs)
        span = _tracer.start_span(name, attributes=attrs, record_exception=False)
        ctx = trace_api.set_span_in_context(span)
        sent: Any = None
        thrown: BaseException | None = None
        try:
            while True:
                token = context_api.attach(ctx)
                try:
                    if thrown is not None:
                        item = await gen.athrow(thrown)
                    else:
                        item = await gen.asend(sent)
                finally:
                    context_api.detach(token)
                thrown = None
                try:
                    sent = yield item
                except GeneratorExit:
                    await gen.aclose()
                    raise
                except BaseException as exc:
                    thrown = exc
        except StopAsyncIteration:
            return
        except GeneratorExit:
            raise
        except BaseException as exc:
            record_exception(span, exc)
            raise
        finally:
            span.end()

    return wrapper
