"""The stand-in as an in-process httpx transport: no socket, the same bytes on the wire."""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

from obs_openai.testing._wire import Reply, respond


def httpx_module() -> Any:
    """The HTTP library the installed OpenAI client is built on (``httpx2``, else ``httpx``)."""
    try:
        return importlib.import_module("httpx2")
    except ImportError:
        return importlib.import_module("httpx")


def _body_class(httpx: Any) -> type[Any]:
    class Body(httpx.SyncByteStream, httpx.AsyncByteStream):  # type: ignore[misc]
        """A response body that streams its events one by one (sync and async)."""

        def __init__(self, reply: Reply) -> None:
            self._reply = reply

        def _parts(self) -> list[bytes]:
            reply = self._reply
            return reply.events if reply.events is not None else [reply.body]

        def __iter__(self) -> Iterator[bytes]:
            cut = self._reply.cut_after
            for index, part in enumerate(self._parts()):
                if cut is not None and index >= cut:
                    raise httpx.RemoteProtocolError(
                        "peer closed connection without sending complete message body"
                    )
                yield part

        async def __aiter__(self) -> AsyncIterator[bytes]:
            for part in self:
                yield part

        def close(self) -> None:
            pass

        async def aclose(self) -> None:
            pass

    return Body


def make_transport() -> Any:
    """An httpx transport (sync and async) answering like the OpenAI API."""
    httpx = httpx_module()
    body_class = _body_class(httpx)

    class StandInTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):  # type: ignore[misc,name-defined]
        def _reply(self, request: Any) -> tuple[Reply, Any]:
            headers = {k.lower(): v for k, v in request.headers.items()}
            return respond(request.method, request.url.path, headers, request.content), headers

        def _response(self, request: Any, reply: Reply) -> Any:
            if reply.connect_error:
                raise httpx.ConnectError("stand-in: connection refused", request=request)
            timeout = (request.extensions.get("timeout") or {}).get("read")
            if reply.delay and timeout is not None and reply.delay > timeout:
                # Fail as the client would after waiting, without spending the time.
                raise httpx.ReadTimeout("stand-in: read timed out", request=request)
            return httpx.Response(
                reply.status,
                headers=list(reply.headers.items()),
                stream=body_class(reply),
                request=request,
            )

        def handle_request(self, request: Any) -> Any:
            request.read()
            reply, _ = self._reply(request)
            response = self._response(request, reply)
            if reply.delay:
                time.sleep(reply.delay)
            return response

        async def handle_async_request(self, request: Any) -> Any:
            await request.aread()
            reply, _ = self._reply(request)
            response = self._response(request, reply)
            if reply.delay:
                await asyncio.sleep(reply.delay)
            return response

    return StandInTransport()
