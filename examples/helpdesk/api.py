"""The helpdesk HTTP API: accepts a ticket, looks its customer up in the customers service
(httpx), and publishes the ticket to Redis through FastStream.

    HELPDESK_CUSTOMERS_URL=http://127.0.0.1:8001 \
        uv run uvicorn examples.helpdesk.api:app --port 8000

``obs.configure(instrument=...)`` runs before FastAPI and the broker are created, so the
FastAPI, httpx and FastStream integrations instrument them: the request's SERVER span is the
parent of the ``GET`` CLIENT span (whose context reaches the customers service in its headers)
and of the ``send`` span, and the trace context travels to the worker in the message headers.
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
    instrument={"fastapi": {"excluded_urls": ["/health"]}, "faststream": {}, "httpx": {}},
)

import httpx  # noqa: E402
from fastapi import FastAPI  # noqa: E402  (created after instrumentation, on purpose)
from faststream.redis import RedisBroker  # noqa: E402

from examples.helpdesk.models import Ticket  # noqa: E402
from examples.helpdesk.settings import CUSTOMERS_URL, REDIS_URL, TICKETS_LIST  # noqa: E402

broker = RedisBroker(REDIS_URL)
customers = httpx.AsyncClient(base_url=CUSTOMERS_URL, timeout=5.0)


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    await broker.connect()
    try:
        yield
    finally:
        await broker.stop()
        await customers.aclose()
        obs.force_flush()


app = FastAPI(title="helpdesk", lifespan=lifespan)


@app.post("/tickets", status_code=202)
async def create_ticket(ticket: Ticket) -> dict[str, str]:
    ticket.ticket_id = uuid.uuid4().hex[:12]
    answer = await customers.get(f"/customers/{ticket.customer}")
    answer.raise_for_status()
    ticket.tier = answer.json()["tier"]
    obs.info(
        "ticket {ticket_id} from {customer}", ticket_id=ticket.ticket_id, customer=ticket.customer
    )
    await broker.publish(ticket.model_dump(), list=TICKETS_LIST)
    trace_id = trace.get_current_span().get_span_context().trace_id
    return {"ticket_id": ticket.ticket_id, "trace_id": f"{trace_id:032x}"}


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}
