"""Token and cost budgets over real OpenAI client calls (the local stand-in, in process)."""

from __future__ import annotations

from pathlib import Path

import obs
import obs_openai
from obs_openai.testing import stand_in_client
from tests.alerts.helpers import Receiver


def test_token_and_cost_budgets_per_model(tmp_path: Path, receiver: Receiver) -> None:
    obs.configure(
        service_name="assistant",
        console=False,
        store=tmp_path / "spans.db",
        alerts={
            "rules": [
                {
                    "name": "Token budget",
                    "condition": "tokens > 10",
                    "window": "1h",
                    "group_by": "model",
                    "channels": [receiver.url],
                },
                {
                    "name": "Cost budget",
                    "condition": "cost > 0",
                    "window": "1h",
                    "input_price_per_1m": 0.15,
                    "output_price_per_1m": 0.6,
                    "channels": [receiver.url],
                },
            ],
            "interval": "0.2s",
        },
    )
    obs_openai.instrument_openai()
    try:
        client = stand_in_client(max_retries=0)
        reply = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Say hello to the world"}]
        )
        usage = reply.usage
        assert usage.prompt_tokens + usage.completion_tokens > 10
        obs.force_flush()
        bodies = {b["rule"]: b for b in receiver.wait_for(2, 15.0)}
        tokens = bodies["Token budget"]
        assert tokens["group"] == {"model": "gpt-4o-mini"}
        assert tokens["value"] == usage.prompt_tokens + usage.completion_tokens
        assert tokens["example_trace_id"]
        cost = bodies["Cost budget"]["value"]
        expected = (usage.prompt_tokens * 0.15 + usage.completion_tokens * 0.6) / 1e6
        assert abs(cost - expected) < 1e-12
    finally:
        obs_openai.uninstrument_openai()
        obs.shutdown()
