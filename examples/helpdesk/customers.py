"""The customers service: a second, tiny HTTP service the helpdesk API calls with httpx.

    uv run uvicorn examples.helpdesk.customers:app --port 8001

It answers ``GET /customers/{name}`` with the customer's support tier. The API's httpx call
is a CLIENT span (obs-httpx) that carries the trace context here, so this service's SERVER
span sits under it: one trace across the three processes.
"""

from __future__ import annotations

import obs

obs.configure(
    service_name="helpdesk-customers", instrument={"fastapi": {"excluded_urls": ["/health"]}}
)

from fastapi import FastAPI  # noqa: E402  (created after instrumentation, on purpose)

#: Customers with a paid plan; everyone else is on the standard tier.
TIERS = {"ada": "enterprise", "grace": "business"}

app = FastAPI(title="customers")


@app.get("/customers/{name}")
async def customer(name: str) -> dict[str, str]:
    return {"name": name, "tier": TIERS.get(name, "standard")}


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}
