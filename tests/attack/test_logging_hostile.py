"""The logging bridge against hostile records: ``extra`` keys that are empty or not strings."""

from __future__ import annotations

import logging

import pytest

log = logging.getLogger("attack.records")


@pytest.fixture(autouse=True)
def root_at_every_level():
    root = logging.getLogger()
    before = root.level
    root.setLevel(1)
    yield
    root.setLevel(before)


class _Raises:
    def __str__(self) -> str:
        raise RuntimeError("no str for you")

    __repr__ = __str__


@pytest.mark.parametrize("extra", [{"": 1}, {1: "one"}, {"ok": _Raises()}])
def test_a_record_with_an_odd_extra_is_still_recorded(obs_capture, extra):
    obs_capture.configure(logging=True)
    log.warning("odd extra %s", "here", extra=extra)
    record = obs_capture.one("odd extra %s")
    assert record.attributes["obs.msg"] == "odd extra here"
