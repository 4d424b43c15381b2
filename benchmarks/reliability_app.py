"""The instrumented FastAPI app the reliability benchmarks and tests serve with real uvicorn.

    uvicorn benchmarks.reliability_app:app

obs is configured from the environment (``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OBS_*``) before
FastAPI is created, so the FastAPI integration instruments it. The lifespan flushes obs when
the server stops: uvicorn ends its process by re-raising SIGTERM, which skips ``atexit``
(see tests/reliability/test_process_model.py), so this is what keeps the last batch.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from opentelemetry import trace

import obs

obs.configure(service_name="reliability-app", instrument=["fastapi"])

from fastapi import FastAPI  # noqa: E402  (created after instrumentation, on purpose)


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    yield
    obs.force_flush()


app = FastAPI(lifespan=lifespan)


@app.get("/work/{rid}")
async def work(rid: int) -> dict[str, object]:
    """A child span and a log around an await, so concurrent requests interleave inside it."""
    with obs.span("child {rid}", rid=rid):
        await asyncio.sleep(0.005)
        obs.info("inside {rid}", rid=rid)
    context = trace.get_current_span().get_span_context()
    return {"rid": rid, "trace_id": f"{context.trace_id:032x}", "pid": os.getpid()}


@app.get("/ping")
async def ping() -> dict[str, bool]:
    return {"ok": True}
