"""What a streamed call returns: the client's own stream, behind a transparent proxy.

The proxy (wrapt) forwards everything to the client's ``Stream``/``AsyncStream`` (attributes,
``isinstance``, ``response``, ...) and adds only what ends the model call's span exactly once:

- iteration that runs out (``StopIteration``) or raises (a stream cut mid-way);
- ``close()`` / ``aclose()``, and leaving ``with`` / ``async with`` (which return the proxy, so
  the block iterates through it);
- ``break``: iteration goes through a small iterator object that is released when the loop is
  left, and ends the span then;
- the proxy being garbage-collected without any of the above.

Nothing here closes, drains or otherwise changes the client's stream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import Any

import wrapt

from obs_openai._call import ModelCall


class _Chunks:
    """Iteration over a stream; ends the call when exhausted, failed, or dropped (``break``)."""

    # ``_owner`` keeps the proxy alive while the loop runs: ``for x in client...create(...)``
    # holds no other reference to it, and its finaliser would end the call too early.
    __slots__ = ("_call", "_inner", "_owner")

    def __init__(self, inner: Iterator[Any], call: ModelCall, owner: object) -> None:
        self._inner = inner
        self._call = call
        self._owner = owner

    def __iter__(self) -> _Chunks:
        return self

    def __next__(self) -> Any:
        try:
            item = next(self._inner)
        except StopIteration:
            self._call.end()
            raise
        except BaseException as exc:
            self._call.fail(exc)
            raise
        self._call.chunk(item)
        return item

    def __del__(self) -> None:
        self._call.end()


class _AsyncChunks:
    """``async for`` over a stream, with the same endings as :class:`_Chunks`."""

    # ``_owner`` keeps the proxy alive while the loop runs: ``for x in client...create(...)``
    # holds no other reference to it, and its finaliser would end the call too early.
    __slots__ = ("_call", "_inner", "_owner")

    def __init__(self, inner: AsyncIterator[Any], call: ModelCall, owner: object) -> None:
        self._inner = inner
        self._call = call
        self._owner = owner

    def __aiter__(self) -> _AsyncChunks:
        return self

    async def __anext__(self) -> Any:
        try:
            item = await self._inner.__anext__()
        except StopAsyncIteration:
            self._call.end()
            raise
        except BaseException as exc:
            self._call.fail(exc)
            raise
        self._call.chunk(item)
        return item

    def __del__(self) -> None:
        self._call.end()


def _end_abandoned(proxy: Any) -> None:
    # A proxy whose __init__ failed has no call (and a wrapt proxy forwards __dict__).
    try:
        call = proxy._self_call
    except Exception:
        return
    call.end()


class TracedStream(wrapt.BaseObjectProxy[Any]):
    """The client's ``Stream``, unchanged, with its model call ended exactly once."""

    def __init__(self, stream: Any, call: ModelCall) -> None:
        super().__init__(stream)
        self._self_call = call

    def __iter__(self) -> Iterator[Any]:
        return _Chunks(iter(self.__wrapped__), self._self_call, self)

    def __next__(self) -> Any:
        call = self._self_call
        try:
            item = next(self.__wrapped__)
        except StopIteration:
            call.end()
            raise
        except BaseException as exc:
            call.fail(exc)
            raise
        call.chunk(item)
        return item

    def __enter__(self) -> TracedStream:
        self.__wrapped__.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Any:
        try:
            return self.__wrapped__.__exit__(exc_type, exc, tb)
        finally:
            self._self_call.end()

    def close(self) -> Any:
        try:
            return self.__wrapped__.close()
        finally:
            self._self_call.end()

    def __del__(self) -> None:
        _end_abandoned(self)


class TracedAsyncStream(wrapt.BaseObjectProxy[Any]):
    """The client's ``AsyncStream``, unchanged, with its model call ended exactly once."""

    def __init__(self, stream: Any, call: ModelCall) -> None:
        super().__init__(stream)
        self._self_call = call

    def __aiter__(self) -> AsyncIterator[Any]:
        return _AsyncChunks(self.__wrapped__.__aiter__(), self._self_call, self)

    async def __anext__(self) -> Any:
        call = self._self_call
        try:
            item = await self.__wrapped__.__anext__()
        except StopAsyncIteration:
            call.end()
            raise
        except BaseException as exc:
            call.fail(exc)
            raise
        call.chunk(item)
        return item

    async def __aenter__(self) -> TracedAsyncStream:
        await self.__wrapped__.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Any:
        try:
            return await self.__wrapped__.__aexit__(exc_type, exc, tb)
        finally:
            self._self_call.end()

    async def close(self) -> Any:
        try:
            return await self.__wrapped__.close()
        finally:
            self._self_call.end()

    async def aclose(self) -> Any:
        try:
            return await self.__wrapped__.aclose()
        finally:
            self._self_call.end()

    def __del__(self) -> None:
        _end_abandoned(self)
