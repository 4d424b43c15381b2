"""``with_raw_response`` and ``with_streaming_response``: the response object, proxied.

The call's answer is only known once the user parses it (or, for a raw streamed call, iterates
the stream ``parse()`` returns), so the proxy takes the answer from ``parse()`` and ends the
span there, on ``close()``, or when it is garbage-collected.
"""

from __future__ import annotations

from typing import Any

import wrapt

from obs_openai._call import ModelCall
from obs_openai._streams import TracedAsyncStream, TracedStream, _end_abandoned

_StreamTypes = tuple[type[Any], type[Any]]


def _hook_parsed(proxy: Any, parsed: Any) -> Any:
    call = proxy._self_call
    sync_stream, async_stream = proxy._self_stream_types
    if isinstance(parsed, (sync_stream, async_stream)):
        # From here the stream proxy ends the call: ``create(...).parse()`` drops this
        # response object at once, and its finaliser must not end the call before the stream.
        proxy._self_streaming = True
        if isinstance(parsed, sync_stream):
            return TracedStream(parsed, call)
        return TracedAsyncStream(parsed, call)
    call.answered(parsed)
    return parsed


def _end_unless_streaming(proxy: Any) -> None:
    try:
        if proxy._self_streaming:
            return
    except Exception:
        return
    _end_abandoned(proxy)


class TracedRawResponse(wrapt.BaseObjectProxy[Any]):
    """A ``LegacyAPIResponse`` (``with_raw_response``) or ``APIResponse`` (sync streaming)."""

    def __init__(self, response: Any, call: ModelCall, stream_types: _StreamTypes) -> None:
        super().__init__(response)
        self._self_call = call
        self._self_stream_types = stream_types
        self._self_streaming = False

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        call = self._self_call
        try:
            parsed = self.__wrapped__.parse(*args, **kwargs)
        except BaseException as exc:
            call.fail(exc)
            raise
        return _hook_parsed(self, parsed)

    def close(self) -> Any:
        try:
            return self.__wrapped__.close()
        finally:
            self._self_call.end()

    def __del__(self) -> None:
        _end_unless_streaming(self)


class TracedAsyncRawResponse(wrapt.BaseObjectProxy[Any]):
    """An ``AsyncAPIResponse`` (async ``with_streaming_response``): parse and close are async."""

    def __init__(self, response: Any, call: ModelCall, stream_types: _StreamTypes) -> None:
        super().__init__(response)
        self._self_call = call
        self._self_stream_types = stream_types
        self._self_streaming = False

    async def parse(self, *args: Any, **kwargs: Any) -> Any:
        call = self._self_call
        try:
            parsed = await self.__wrapped__.parse(*args, **kwargs)
        except BaseException as exc:
            call.fail(exc)
            raise
        return _hook_parsed(self, parsed)

    async def close(self) -> Any:
        try:
            return await self.__wrapped__.close()
        finally:
            self._self_call.end()

    def __del__(self) -> None:
        _end_unless_streaming(self)
