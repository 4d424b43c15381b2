from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.alerts.helpers import Receiver, Spans


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "spans.db"


@pytest.fixture
def spans(store: Path) -> Iterator[Spans]:
    writer = Spans(store)
    yield writer
    writer.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running
