"""The helpdesk worker: consumes tickets from Redis and runs the Burr workflow on each.

    uv run python -m examples.helpdesk.worker

Uses OpenAI at OPENAI_BASE_URL (the runner points it at a local stand-in when there is no
OPENAI_API_KEY). The ``process`` span of each message continues the API request's trace; the
Burr run, its steps and the OpenAI calls nest under it. It logs with the standard ``logging``
module, as most services do: ``configure(logging=True)`` turns each record into a log span in
the trace where it was written.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal

import obs

# Every installed integration, with the Burr application named as a workflow (its runs are
# "invoke_workflow helpdesk"; the ticket's app id is an attribute, never the span name).
# obs-httpx is on too: the OpenAI client sends through httpx(2), and each model call must
# still be one span.
obs.configure(
    service_name="helpdesk-worker",
    instrument={"faststream": {}, "openai": {}, "burr": {"name": "helpdesk"}, "httpx": {}},
    logging=True,
    # Burr logs a banner with the state for a failing action; its step span records the error.
    logging_levels={"burr.core.application": "critical"},
)

from faststream import FastStream  # noqa: E402
from faststream.redis import RedisBroker  # noqa: E402
from openai import AsyncOpenAI  # noqa: E402

from examples.helpdesk import workflow  # noqa: E402
from examples.helpdesk.models import Ticket  # noqa: E402
from examples.helpdesk.settings import REDIS_URL, TICKETS_LIST  # noqa: E402

broker = RedisBroker(REDIS_URL)
app = FastStream(broker)
llm = AsyncOpenAI(max_retries=0)
log = logging.getLogger("helpdesk.worker")


@broker.subscriber(list=TICKETS_LIST)
async def handle_ticket(ticket: Ticket) -> None:
    log.info("ticket %s received (%s tier)", ticket.ticket_id, ticket.tier)
    application = workflow.build(ticket.model_dump(), llm)
    _, _, state = await application.arun(halt_after=["draft_reply"])
    log.info(
        "ticket %s answered (%s)", ticket.ticket_id, state["category"], extra={"tier": ticket.tier}
    )


async def main() -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await broker.start()
    print(f"worker ready (pid {os.getpid()}), consuming {TICKETS_LIST!r}", flush=True)
    await stop.wait()
    await broker.stop()
    obs.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
