"""pytest plugin (entry point ``pytest11``): the ``obs_capture`` fixture."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from obs.testing import Capture


@pytest.fixture
def obs_capture() -> Iterator[Capture]:
    """obs configured with an in-memory capture; integrations uninstrumented afterwards."""
    capture = Capture()
    capture.configure()
    try:
        yield capture
    finally:
        capture.close()
