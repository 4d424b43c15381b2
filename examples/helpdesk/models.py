from __future__ import annotations

from pydantic import BaseModel, Field


class Ticket(BaseModel):
    ticket_id: str = ""
    customer: str = Field(min_length=1, max_length=100)
    product: str = Field(min_length=1, max_length=50)
    subject: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=10_000)
    #: The customer's support tier, from the customers service (set by the API).
    tier: str = ""
