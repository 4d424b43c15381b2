"""An app served by ``uvicorn --workers 2`` in test_process_model: each worker configures obs
from the environment (OTLP endpoint, store path) when it imports this module.

``WORKERS_APP_FLUSH_IN_LIFESPAN=1`` adds the work-around for uvicorn's exit (see the test):
a lifespan that flushes obs when the server shuts down.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import obs

obs.configure(service_name="workers", instrument=["fastapi"])

from fastapi import FastAPI  # noqa: E402  (created after instrumentation, on purpose)


@asynccontextmanager
async def flush_on_shutdown(_: FastAPI) -> AsyncIterator[None]:
    yield
    obs.force_flush()


app = FastAPI(
    lifespan=flush_on_shutdown if os.environ.get("WORKERS_APP_FLUSH_IN_LIFESPAN") else None
)


@app.get("/pid")
def pid(block: float = 0.0) -> dict[str, int]:
    with obs.span("work", pid=os.getpid()):
        # A sync endpoint runs in the thread pool; a busy worker still accepts. The sleep only
        # spreads concurrent requests over time so both workers take some.
        time.sleep(block)
    return {"pid": os.getpid()}


@app.get("/crash")
async def crash() -> None:
    with obs.span("before crash", pid=os.getpid()):
        pass
    obs.force_flush()
    os._exit(70)  # a worker dying hard: no atexit, no flush of what came after
