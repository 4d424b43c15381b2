"""Ending a process span when FastStream settles its message, so the span covers the ack.

Brokers that settle with real I/O (an ack frame, XACK, a commit) get their message's
ack/nack/reject stood in for by :class:`_Settlement` until it ran (see ``_message.py``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from faststream.message import StreamMessage

if TYPE_CHECKING:
    from obs_faststream._message import MessageTelemetry

# The base class' settlement methods: a message class that overrides one does real I/O to
# settle (an ack frame, XACK, a commit), which the process span should cover.
_BASE_SETTLEMENT = (StreamMessage.ack, StreamMessage.nack, StreamMessage.reject)


def _settles_remotely(msg: StreamMessage[Any]) -> bool:
    cls = type(msg)
    return (cls.ack, cls.nack, cls.reject) != _BASE_SETTLEMENT


class _Settlement:
    """Stands in for a message's ack/nack/reject until it ran, then ends the process span."""

    __slots__ = ("_original", "_owner")

    def __init__(self, owner: MessageTelemetry, original: Callable[..., Awaitable[Any]]) -> None:
        self._owner = owner
        self._original = original

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        owner = self._owner
        owner._settling = True
        try:
            return await self._original(*args, **kwargs)
        except BaseException as exc:
            owner._fail(exc)
            raise
        finally:
            owner._finish()
