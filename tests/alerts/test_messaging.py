"""A message-processing-failure rule over real FastStream consumers on Redis."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import obs
from tests.alerts.helpers import Receiver
from tests.conftest import require_service


async def test_failing_messages_fire_per_destination(tmp_path: Path, receiver: Receiver) -> None:
    require_service("redis")
    queue = f"obs-alerts-{uuid.uuid4().hex[:12]}"
    obs.configure(
        service_name="worker",
        console=False,
        store=tmp_path / "spans.db",
        instrument=["faststream"],
        alerts={
            "rules": [
                {
                    "name": "Failing consumer",
                    "condition": "message_failures >= 2",
                    "window": "30s",
                    "group_by": "destination",
                    "channels": [receiver.url],
                }
            ],
            "interval": "0.2s",
        },
    )
    try:
        from faststream.redis import RedisBroker

        broker = RedisBroker("redis://127.0.0.1:6379")
        handled = asyncio.Event()
        seen: list[int] = []

        @broker.subscriber(list=queue)
        async def handle(body: dict[str, int]) -> None:
            seen.append(body["n"])
            if len(seen) == 4:
                handled.set()
            if body["n"] % 2:
                raise ValueError(f"message {body['n']} is malformed")

        async with broker:
            await broker.start()
            for n in range(4):
                await broker.publish({"n": n}, list=queue)
            await asyncio.wait_for(handled.wait(), 10)
            bodies = await asyncio.to_thread(receiver.wait_for, 1, 15.0)
        (body,) = bodies
        assert body["rule"] == "Failing consumer"
        assert body["group"] == {"destination": queue}
        assert body["value"] == 2
        assert body["example_trace_id"]
    finally:
        obs.uninstrument("faststream")
        obs.shutdown()
