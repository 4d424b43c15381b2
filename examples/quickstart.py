"""obs in one file: spans, logs as spans, baggage, an exception, a metric.

    uv run python examples/quickstart.py

Prints each trace as a tree on the terminal. Set OTEL_EXPORTER_OTLP_ENDPOINT to send the same
spans to an OpenTelemetry Collector instead.
"""

from __future__ import annotations

import asyncio
import random
import sys

import obs

orders = obs.counter("orders.placed", unit="{order}", description="orders accepted")


@obs.traced
async def charge(order_id: int, amount: float) -> str:
    await asyncio.sleep(random.uniform(0.001, 0.005))
    if amount > 100:
        raise ValueError(f"amount {amount} over the card limit")
    return f"ch_{order_id}"


@obs.traced(name="reserve stock")
def reserve(items: list[str]):
    for item in items:
        obs.debug("reserved {item}", item=item)
        yield item


async def place_order(order_id: int, amount: float) -> None:
    with obs.baggage(tenant="acme"), obs.span("place order {order_id}", order_id=order_id):
        obs.info("order {order_id} received", order_id=order_id, card_number="4111 1111 1111 1111")
        reserved = list(reserve(["book", "pen"]))
        try:
            charge_id = await charge(order_id, amount)
        except ValueError:
            obs.exception("payment for order {order_id} failed", order_id=order_id)
            return
        orders.add(1, {"tenant": "acme"})
        obs.notice(
            "order {order_id} paid ({charge_id}), {n} items",
            order_id=order_id,
            charge_id=charge_id,
            n=len(reserved),
        )


async def main() -> None:
    with obs.configure(service_name="quickstart", console_min_level="debug"):
        await place_order(1, 42.0)
        await place_order(2, 250.0)
    print(
        "\nNext: install obs-fastapi, obs-faststream, obs-openai or obs-burr and call "
        "obs.configure(instrument=True); see the README.",
        file=sys.stderr,
    )


if __name__ == "__main__":
    asyncio.run(main())
