"""One HTTP request or WebSocket connection in flight, as :class:`ObsMiddleware` sees it.

:class:`_Exchange` watches the messages the app sends and receives (never changing or holding
them): the response status, the optional response headers, the ``detail`` of a JSON 4xx body
and ``http.disconnect``; it ends the span (through the middleware) once the last body message
has been sent.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from opentelemetry.trace import INVALID_SPAN, Span
from opentelemetry.util.types import AttributeValue

from obs.instrumentation import internal_error
from obs_fastapi._request import header_attributes

if TYPE_CHECKING:
    from obs_fastapi._middleware import ObsMiddleware

Scope = Any  # ASGI types, kept loose so the module imports without Starlette
Message = Any
Receive = Any
Send = Any

#: The ``detail`` of a 4xx answer (``HTTPException(404, detail="no such order")``): recorded,
#: scrubbed like every attribute, from a JSON body up to this size (the body is only watched,
#: never held back or changed). 422 details carry the rejected input: they are recorded only
#: under ``capture_validation_errors``, from FastAPI's own data.
DETAIL = "fastapi.response.detail"
_DETAIL_MAX_BODY = 16_384


class _Exchange:
    """One request in flight: what its span needs to end once, with the right status.

    One slotted object per request instead of closures and cells: fewer allocations on the
    hot path. ``send``/``receive`` only watch messages; they never change or hold them.
    """

    __slots__ = (
        "_receive",
        "_send",
        "complete",
        "detail",
        "disconnected",
        "end",
        "failure",
        "finished",
        "middleware",
        "name",
        "prefix",
        "scope",
        "sink",
        "span",
        "start",
        "started",
        "status",
        "trailers",
    )

    def __init__(
        self, middleware: ObsMiddleware, scope: Scope, name: str, receive: Receive, send: Send
    ) -> None:
        self.middleware = middleware
        self.scope = scope
        self.name = name
        self.span: Span = INVALID_SPAN
        self.prefix = ""
        self._receive = receive
        self._send: Callable[[Message], Awaitable[None]] = send
        self.sink: Any = None
        self.status = 0
        self.complete = False
        self.trailers = False
        self.disconnected = False
        self.finished = False
        self.end: dict[str, AttributeValue] = {}
        self.start: dict[str, AttributeValue] = {}
        self.started = 0.0
        self.failure: BaseException | None = None
        self.detail = False

    def send(self, message: Message) -> Awaitable[None]:
        # Not a coroutine function: a message after which nothing is left to do (the response
        # start, a body part with more to come) is handed straight to the server's ``send``,
        # and the app awaits the server's awaitable; only the last message is awaited here,
        # so its span ends once it was sent. One coroutine less per request.
        kind = message["type"]
        if kind == "http.response.start":
            status = self.status = message["status"]
            self.trailers = message.get("trailers", False)
            selection = self.middleware.response_headers
            if selection is not None:
                self._response_headers(message, selection)
            if 400 <= status < 500 and status != 422:
                self.detail = _is_json(message.get("headers", ()))
            return self._send(message)
        if kind == "http.response.body":
            if self.detail:
                self.detail = False
                self._record_detail(message)
            if message.get("more_body", False) or self.trailers:
                return self._send(message)
            return self._send_last(message)
        if kind == "http.response.pathsend" or (
            kind == "http.response.trailers" and not message.get("more_trailers", False)
        ):
            return self._send_last(message)
        return self._send(message)

    async def _send_last(self, message: Message) -> None:
        """Send the response's last message, then end the span (unless it is a 5xx)."""
        await self._send(message)
        self.complete = True
        # A 5xx waits for the app to return: the exception behind it may follow.
        if self.status < 500 and not self.finished:
            self.finish(None)

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.disconnect":
            self.disconnected = True
        return message

    def finish(self, exc: BaseException | None) -> None:
        self.finished = True
        status = self.status
        end = self.end
        if status:
            end["http.response.status_code"] = status
        if exc is None:
            if status >= 500:
                end["error.type"] = str(status)
            elif not self.complete:
                end["error.type"] = (
                    "client_disconnected" if self.disconnected else "incomplete_response"
                )
        self.middleware._finish(self, exc)

    def _record_detail(self, message: Message) -> None:
        """The ``detail`` of a JSON 4xx body sent in one piece (a copy is read; nothing held)."""
        try:
            body = message.get("body", b"")
            if message.get("more_body", False) or not body or len(body) > _DETAIL_MAX_BODY:
                return
            decoded = json.loads(body)
            detail = decoded.get("detail") if isinstance(decoded, dict) else None
            if detail is None:
                return
            text = detail if isinstance(detail, str) else json.dumps(detail, default=str)
            self.end[DETAIL] = text
        except ValueError:
            return  # not JSON after all: nothing to record
        except Exception as exc:
            internal_error("obs_fastapi: response detail", exc)

    def _response_headers(self, message: Message, selection: frozenset[bytes] | str) -> None:
        try:
            self.end.update(
                header_attributes(message.get("headers", ()), selection, "http.response.header.")
            )
        except Exception as exc:
            internal_error("obs_fastapi: response headers", exc)


def _is_json(headers: Any) -> bool:
    for key, value in headers:
        if key.lower() == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            return bool(media == b"application/json" or media.endswith(b"+json"))
    return False
