"""The Burr application the worker runs for each ticket: triage, then draft a reply.

Each action calls OpenAI: triage with a plain call, the reply with a streamed one.
"""

from __future__ import annotations

from typing import Any

from burr.core import Application, ApplicationBuilder, State, action
from openai import AsyncOpenAI

from examples.helpdesk.settings import MODEL, PRODUCTS


class UnknownProductError(ValueError):
    """A ticket about a product the helpdesk does not support."""


@action(reads=["ticket"], writes=["category"])
async def triage(state: State, llm: AsyncOpenAI) -> State:
    ticket: dict[str, Any] = state["ticket"]
    if ticket["product"] not in PRODUCTS:
        raise UnknownProductError(f"no support queue for product {ticket['product']!r}")
    response = await llm.chat.completions.create(
        model=MODEL,
        messages=[
            {"role": "system", "content": "Classify the ticket: bug, question or billing."},
            {"role": "user", "content": f"{ticket['subject']}\n\n{ticket['body']}"},
        ],
        temperature=0,
        max_tokens=10,
    )
    return state.update(category=(response.choices[0].message.content or "").strip()[:24])


@action(reads=["ticket", "category"], writes=["reply"])
async def draft_reply(state: State, llm: AsyncOpenAI) -> State:
    ticket: dict[str, Any] = state["ticket"]
    stream = await llm.chat.completions.create(
        model=MODEL,
        messages=[
            {
                "role": "system",
                "content": f"Draft a short, kind reply to a {state['category']} ticket.",
            },
            {"role": "user", "content": ticket["subject"]},
        ],
        stream=True,
        stream_options={"include_usage": True},
    )
    parts = []
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            parts.append(chunk.choices[0].delta.content)
    return state.update(reply="".join(parts))


def build(ticket: dict[str, Any], llm: AsyncOpenAI) -> Application[Any]:
    return (
        ApplicationBuilder()
        .with_actions(triage=triage.bind(llm=llm), draft_reply=draft_reply.bind(llm=llm))
        .with_transitions(("triage", "draft_reply"))
        .with_state(ticket=ticket)
        .with_entrypoint("triage")
        .with_identifiers(app_id=f"ticket-{ticket['ticket_id']}", partition_key=ticket["customer"])
        .build()
    )
