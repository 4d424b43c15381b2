"""obs-openai tests: the real ``openai`` client against the local stand-in (in process or on
loopback), instrumented through obs_openai, captured with ``obs_capture``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

import obs_openai
from obs.testing import Capture
from obs_openai.testing import StandInServer, stand_in_client


@pytest.fixture
def instrumented(obs_capture: Capture) -> Iterator[Capture]:
    """obs captured and every OpenAI client instrumented (undone afterwards)."""
    obs_openai.instrument_openai()
    try:
        yield obs_capture
    finally:
        obs_openai.uninstrument_openai()


@pytest.fixture
def client() -> Any:
    return stand_in_client(max_retries=0)


@pytest.fixture
async def async_client() -> AsyncIterator[Any]:
    client = stand_in_client(async_=True, max_retries=0)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture(scope="module")
def server() -> Iterator[StandInServer]:
    with StandInServer() as running:
        yield running


MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Say hello to the world please"},
]
