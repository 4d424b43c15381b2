"""Load at CI size: concurrent requests through real uvicorn, messages through real Redis with
several consumers. No span under the wrong parent, none lost after a graceful stop, none twice.

The same code at full size (1,000 concurrent requests, 10,000 messages), with throughput and
memory figures: ``uv run python -m benchmarks.reliability_load``.
"""

from __future__ import annotations

from benchmarks.reliability_load import http_load, message_load
from tests.conftest import require_service


def test_concurrent_requests_through_uvicorn(obs_capture, tmp_path):
    result = http_load(requests=200, rounds=1, workdir=tmp_path)
    assert result.problems == []
    assert (result.lost, result.duplicates) == (0, 0), "\n".join(result.lines())
    assert result.received_spans == 600


def test_messages_through_redis_with_concurrent_consumers(obs_capture):
    require_service("redis")
    result = message_load(messages=1000, consumers=4, configure=obs_capture.configure)
    assert result.problems == []
    assert (result.lost, result.duplicates) == (0, 0), "\n".join(result.lines())
    assert result.received_spans == 4000
