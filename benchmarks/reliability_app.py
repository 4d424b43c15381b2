"""The instrumented FastAPI app the reliability benchmarks and tests serve with real uvicorn.

    uvicorn benchmarks.reliability_app:app

obs is configured from the environment (``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OBS_*``) before
FastAPI is created, so the FastAPI integration instruments it. Nothing else: obs-fastapi
flushes when the server's lifespan shuts down (uvicorn ends its process by re-raising SIGTERM,
which skips ``atexit``), bounded by ``OBS_SHUTDOWN_TIMEOUT_S``.
"""

from __future__ import annotations

import asyncio
import os

from opentelemetry import trace
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

import obs

# obs's own health metric, read in process by GET /obs/dropped (the OTLP metric export may be
# the very thing that is failing)
_metrics = InMemoryMetricReader()
obs.configure(service_name="reliability-app", instrument=["fastapi"], metric_readers=[_metrics])

from fastapi import FastAPI  # noqa: E402  (created after instrumentation, on purpose)

app = FastAPI()


@app.get("/work/{rid}")
async def work(rid: int) -> dict[str, object]:
    """A child span and a log around an await, so concurrent requests interleave inside it."""
    with obs.span("child {rid}", rid=rid):
        await asyncio.sleep(0.005)
        obs.info("inside {rid}", rid=rid)
    context = trace.get_current_span().get_span_context()
    return {"rid": rid, "trace_id": f"{context.trace_id:032x}", "pid": os.getpid()}


@app.get("/fast")
async def fast() -> dict[str, bool]:
    """The latency probe: a child span and a log, no waiting."""
    with obs.span("child"):
        obs.info("inside")
    return {"ok": True}


@app.get("/obs/dropped")
async def dropped() -> dict[str, int]:
    """``obs.export.dropped_spans`` by reason (export_failed, queue_full)."""
    out: dict[str, int] = {}
    data = _metrics.get_metrics_data()
    for resource_metrics in data.resource_metrics if data else ():
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                if metric.name == "obs.export.dropped_spans":
                    for point in metric.data.data_points:
                        reason = str(dict(point.attributes or {}).get("reason"))
                        out[reason] = out.get(reason, 0) + int(point.value)
    return out


@app.get("/ping")
async def ping() -> dict[str, bool]:
    return {"ok": True}
