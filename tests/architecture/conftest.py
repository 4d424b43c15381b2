"""The loopback server the httpx host talks to lives only as long as each test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.architecture.hosts import stop_servers


@pytest.fixture(autouse=True, scope="module")
def _stop_servers() -> Iterator[None]:
    yield
    stop_servers()
