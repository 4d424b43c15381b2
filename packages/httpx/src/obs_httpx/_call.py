"""One outgoing request: its CLIENT span and duration point, ended exactly once.

A response's body may be read long after the transport returned it (``client.stream(...)``),
so the call ends when the body stream is exhausted, closed, fails, or (the last resort, for a
stream nobody closed) is garbage-collected: whichever comes first, and only that one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from opentelemetry import trace as trace_api
from opentelemetry.metrics import Histogram
from opentelemetry.trace import Span, Status, StatusCode

from obs.instrumentation import error_type, internal_error, record_exception
from obs_httpx import _semconv as sc

_perf = time.perf_counter


class Call:
    __slots__ = (
        "_ended",
        "_lock",
        "context",
        "histogram",
        "metric_attributes",
        "span",
        "started",
    )

    def __init__(self, span: Span, histogram: Histogram, metric_attributes: dict[str, Any]) -> None:
        self.span = span
        self.context = trace_api.set_span_in_context(span)
        self.histogram = histogram
        self.metric_attributes = metric_attributes
        self.started = _perf()
        self._ended = False
        self._lock = threading.Lock()

    def answered(self, response: Any) -> None:
        """The status line and headers arrived."""
        try:
            status = response.status_code
            span = self.span
            attrs = self.metric_attributes
            attrs[sc.STATUS_CODE] = status
            span.set_attribute(sc.STATUS_CODE, status)
            version = response.extensions.get("http_version")
            if version:
                text = version.decode("ascii", "replace") if isinstance(version, bytes) else version
                text = text.removeprefix("HTTP/")
                attrs[sc.PROTOCOL_VERSION] = text
                span.set_attribute(sc.PROTOCOL_VERSION, text)
            if status >= 400:
                attrs[sc.ERROR_TYPE] = str(status)
                span.set_attribute(sc.ERROR_TYPE, str(status))
                span.set_status(Status(StatusCode.ERROR))
        except Exception as exc:
            internal_error("httpx response", exc)

    def fail(self, exc: BaseException) -> None:
        try:
            record_exception(self.span, exc)
            self.metric_attributes[sc.ERROR_TYPE] = error_type(exc)
        except Exception as error:
            internal_error("httpx failure", error)
        self.end()

    def end(self) -> None:
        if self._ended:
            return
        with self._lock:
            if self._ended:
                return
            self._ended = True
        try:
            elapsed = _perf() - self.started
            span = self.span
            # Inside the span, so an exemplar of this point links to its trace.
            self.histogram.record(elapsed, self.metric_attributes, self.context)
            span.end()
        except Exception as exc:
            internal_error("httpx end", exc)


class _TracedStream:
    """The response body (a ``SyncByteStream``), ending the call when it is done."""

    def __init__(self, inner: Any, call: Call) -> None:
        self._inner = inner
        self._call = call

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._inner
        except GeneratorExit:  # the reader stopped early; close() ends the call
            raise
        except BaseException as exc:
            self._call.fail(exc)
            raise
        self._call.end()

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            self._call.end()

    def __del__(self) -> None:  # a stream nobody closed must not leave its span open
        self._call.end()


class _TracedAsyncStream:
    """The response body (an ``AsyncByteStream``), ending the call when it is done."""

    def __init__(self, inner: Any, call: Call) -> None:
        self._inner = inner
        self._call = call

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._inner:
                yield chunk
        except GeneratorExit:
            raise
        except BaseException as exc:
            self._call.fail(exc)
            raise
        self._call.end()

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            self._call.end()

    def __del__(self) -> None:
        self._call.end()


StreamTypes = tuple[Callable[[Any, Call], Any], Callable[[Any, Call], Any]]
_stream_types: dict[str, StreamTypes] = {}


def stream_types(module: Any) -> StreamTypes:
    """The traced body classes for ``module`` (``httpx`` or ``httpx2``): httpx checks
    ``isinstance(stream, SyncByteStream)`` against its own base classes."""
    found = _stream_types.get(module.__name__)
    if found is None:
        sync = type("TracedStream", (_TracedStream, module.SyncByteStream), {"__slots__": ()})
        async_ = type(
            "TracedAsyncStream", (_TracedAsyncStream, module.AsyncByteStream), {"__slots__": ()}
        )
        found = _stream_types[module.__name__] = (sync, async_)
    return found
