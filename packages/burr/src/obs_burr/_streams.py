"""Streaming actions run with their step span current, and only while they run.

Burr runs a streaming action's generator inside the consumer's iteration
(``for item in container``), long after ``stream_result()`` returned, and no hook is called
when the consumer asks for the next item. So the lifecycle hooks alone can either leave the
step span attached in the consumer's context for the whole stream (which nests the consumer's
own spans under the step and breaks when the consumer opens a span around its loop), or not
make it current at all (so an OpenAI call inside the action starts a new trace).

Instead, Burr's four module-level stream runners (``_run_single_step_streaming_action`` and
friends, looked up as module globals on every ``stream_result``/``astream_result``) are
wrapped: the generator they return is wrapped so that each resumption runs with the step's
context attached, and the context the action's code left behind (a span it opened around its
``yield``) is carried to the next resumption. When no obs step span is open for the stream
(the application has no obs hooks) the runner's generator is returned untouched.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any

from opentelemetry import context as context_api
from opentelemetry.context import Context

from obs_burr import _live

_RUNNERS = (
    "_run_single_step_streaming_action",
    "_run_multi_step_streaming_action",
    "_arun_single_step_streaming_action",
    "_arun_multi_step_streaming_action",
)

_lock = threading.Lock()
_originals: dict[str, Callable[..., Any]] = {}
#: Explicitly created hooks need the wrappers for as long as they live, which obs cannot tell:
#: once one exists the wrappers stay (they are a pass-through for applications without obs).
_pinned = False


class InContextGenerator(Generator[Any, Any, Any]):
    """A generator that runs each resumption of ``inner`` inside ``context``."""

    __slots__ = ("_context", "_inner")

    def __init__(self, inner: Generator[Any, Any, Any], context: Context) -> None:
        self._inner = inner
        self._context = context

    def send(self, value: Any) -> Any:
        token = context_api.attach(self._context)
        try:
            return self._inner.send(value)
        finally:
            # Keep what the action's code made current (a span around its yield) for its
            # next resumption; the consumer gets its own context back.
            self._context = context_api.get_current()
            context_api.detach(token)

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Any:
        token = context_api.attach(self._context)
        try:
            if val is None and tb is None:
                return self._inner.throw(typ)
            return self._inner.throw(typ, val, tb)  # pragma: no cover - legacy signature
        finally:
            self._context = context_api.get_current()
            context_api.detach(token)

    def close(self) -> None:
        token = context_api.attach(self._context)
        try:
            self._inner.close()
        finally:
            context_api.detach(token)


class InContextAsyncGenerator(AsyncGenerator[Any, Any]):
    """The async counterpart: each ``asend`` runs in one task, so attach/detach pair up."""

    __slots__ = ("_context", "_inner")

    def __init__(self, inner: AsyncGenerator[Any, Any], context: Context) -> None:
        self._inner = inner
        self._context = context

    async def asend(self, value: Any) -> Any:
        token = context_api.attach(self._context)
        try:
            return await self._inner.asend(value)
        finally:
            self._context = context_api.get_current()
            context_api.detach(token)

    async def athrow(self, typ: Any, val: Any = None, tb: Any = None) -> Any:
        token = context_api.attach(self._context)
        try:
            if val is None and tb is None:
                return await self._inner.athrow(typ)
            return await self._inner.athrow(typ, val, tb)  # pragma: no cover - legacy signature
        finally:
            self._context = context_api.get_current()
            context_api.detach(token)

    async def aclose(self) -> None:
        token = context_api.attach(self._context)
        try:
            await self._inner.aclose()
        finally:
            context_api.detach(token)


def _step(kwargs: dict[str, Any]) -> _live.StepRecord | None:
    try:
        return _live.steps.get((kwargs["app_id"], kwargs["partition_key"], kwargs["sequence_id"]))
    except (KeyError, TypeError):  # a Burr version that calls the runner differently
        return None


def _wrap_sync(original: Callable[..., Generator[Any, Any, Any]]) -> Callable[..., Any]:
    def run_streaming_action(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
        generator = original(*args, **kwargs)
        record = _step(kwargs)
        if record is None:
            return generator
        wrapped = InContextGenerator(generator, record.context)
        record.stream = wrapped
        return wrapped

    run_streaming_action.__wrapped__ = original  # type: ignore[attr-defined]
    return run_streaming_action


def _wrap_async(original: Callable[..., AsyncGenerator[Any, Any]]) -> Callable[..., Any]:
    def arun_streaming_action(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
        generator = original(*args, **kwargs)
        record = _step(kwargs)
        return generator if record is None else InContextAsyncGenerator(generator, record.context)

    arun_streaming_action.__wrapped__ = original  # type: ignore[attr-defined]
    return arun_streaming_action


def finish(record: _live.StepRecord) -> None:
    """Close a synchronous stream when its step ends (Burr's container is done with it).

    Burr's container never resumes the stream after its end callback (it has stored its final
    result by then), so closing it changes nothing the user sees. It matters when the consumer
    stopped early: the action is suspended, maybe inside ``with obs.span(...)`` around its
    ``yield``, and left to the garbage collector it would be closed at an arbitrary time and
    place, and its span's exit would reset the context current there to the action's. Closed
    here, in the consumer's context and inside the action's own, it cleans up where it ran.
    Async streams cannot be closed from a synchronous hook; asyncio's async generator
    finaliser closes them in a task of their own, which cannot touch the consumer's context.
    """
    stream = record.stream
    record.stream = None
    if isinstance(stream, InContextGenerator):
        stream.close()


def install(*, pin: bool = False) -> None:
    """Wrap Burr's stream runners (idempotent). ``pin`` keeps them wrapped for good."""
    global _pinned
    from burr.core import application

    with _lock:
        _pinned = _pinned or pin
        if _originals:
            return
        for name in _RUNNERS:
            original = getattr(application, name, None)
            if original is None:  # pragma: no cover - a Burr without this runner
                continue
            _originals[name] = original
            wrap = _wrap_async if name.startswith("_arun") else _wrap_sync
            setattr(application, name, wrap(original))


def uninstall() -> None:
    """Restore Burr's stream runners, unless explicitly created hooks still need them."""
    from burr.core import application

    with _lock:
        if _pinned:
            return
        for name, original in _originals.items():
            setattr(application, name, original)
        _originals.clear()


def installed() -> bool:
    return bool(_originals)
