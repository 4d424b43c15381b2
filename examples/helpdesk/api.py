"""The helpdesk HTTP API: accepts a ticket and publishes it to Redis through FastStream.

    uv run uvicorn examples.helpdesk.api:app --port 8000

``obs.configure(instrument=...)`` runs before FastAPI and the broker are created, so the
FastAPI and FastStream integrations instrument them: the request's SERVER span is the parent of
the ``send`` span, and the trace context travels to the worker in the message headers.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from opentelemetry import trace

import obs

# Per-integration options: health checks create no span.
obs.configure(
    service_name="helpdesk-api",
    instrument={"fastapi": {"excluded_urls": ["/health"]}, "faststream": {}},
)

from fastapi import FastAPI  # noqa: E402  (created after instrumentation, on purpose)
from faststream.redis import RedisBroker  # noqa: E402

from examples.helpdesk.models import Ticket  # noqa: E402
from examples.helpdesk.settings import REDIS_URL, TICKETS_LIST  # noqa: E402

broker = RedisBroker(REDIS_URL)


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    await broker.connect()
    try:
        yield
    finally:
        await broker.stop()
        obs.force_flush()


app = FastAPI(title="helpdesk", lifespan=lifespan)


@app.post("/tickets", status_code=202)
async def create_ticket(ticket: Ticket) -> dict[str, str]:
    ticket.ticket_id = uuid.uuid4().hex[:12]
    obs.info(
        "ticket {ticket_id} from {customer}", ticket_id=ticket.ticket_id, customer=ticket.customer
    )
    await broker.publish(ticket.model_dump(), list=TICKETS_LIST)
    trace_id = trace.get_current_span().get_span_context().trace_id
    return {"ticket_id": ticket.ticket_id, "trace_id": f"{trace_id:032x}"}


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}
