"""Flushing obs's buffered spans when an ASGI app's lifespan shutdown completes."""

from __future__ import annotations

import asyncio
from typing import Any

from obs.instrumentation import flush

Message = Any  # ASGI types, kept loose so the module imports without Starlette
Send = Any


def _flush_before_shutdown_completes(send: Send) -> Send:
    """Export the buffered spans when the app has shut down, before the server is told so.

    uvicorn (and servers like it) end the process with the SIGTERM/SIGINT they caught once the
    lifespan shutdown completes, so interpreter-exit hooks never run: without this, the spans
    of the last seconds before every graceful stop would be lost.
    """

    async def send_after_flush(message: Message) -> None:
        if message.get("type") in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
            await asyncio.get_running_loop().run_in_executor(None, flush)
        await send(message)

    return send_after_flush
