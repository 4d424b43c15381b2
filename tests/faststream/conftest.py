"""Shared helpers for the obs-faststream tests: unique names, bounded waits, a spy middleware."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from faststream._internal.middlewares import BaseMiddleware
from opentelemetry import context as context_api
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

TIMEOUT = 10.0


def unique(prefix: str = "obs") -> str:
    """A destination name no other test (or earlier run) uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


async def wait(event: asyncio.Event, timeout: float = TIMEOUT) -> None:
    await asyncio.wait_for(event.wait(), timeout)


async def settle(capture: Any, name: str, count: int = 1, timeout: float = TIMEOUT) -> None:
    """Wait until ``count`` spans called ``name`` ended (process spans end after the handler)."""

    async def poll() -> None:
        # Spans end in the SDK, which has no awaitable hook: poll, bounded by the timeout.
        while len(capture.find(name)) < count:  # noqa: ASYNC110
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout)


class Spy:
    """An outer broker middleware recording what FastStream sees around ours."""

    def __init__(self) -> None:
        self.errors: list[BaseException] = []
        self.contexts_ok: list[bool] = []

    def __call__(self, msg: Any, /, *, context: Any) -> BaseMiddleware[Any, Any]:
        spy = self

        class _Spy(BaseMiddleware[Any, Any]):
            async def consume_scope(self, call_next: Any, msg: Any) -> Any:
                before = context_api.get_current()
                try:
                    return await call_next(msg)
                except BaseException as exc:
                    spy.errors.append(exc)
                    raise
                finally:
                    spy.contexts_ok.append(context_api.get_current() is before)

        return _Spy(msg, context=context)


def assert_child(capture: Any, child: ReadableSpan, parent: ReadableSpan) -> None:
    assert capture.parent(child) is parent, (child.name, parent.name, capture.tree())


def assert_links_to(span: ReadableSpan, *targets: ReadableSpan) -> None:
    linked = {link.context.span_id for link in span.links}
    assert {t.context.span_id for t in targets if t.context} <= linked, span.links


def assert_process_failed(span: ReadableSpan, error_type: str) -> None:
    assert span.kind is SpanKind.CONSUMER
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == error_type
    assert any(e.name == "exception" for e in span.events)
