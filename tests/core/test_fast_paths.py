"""The hot paths of ``obs.span`` / ``obs.info`` give exactly what the full paths give.

``to_attributes`` keeps exact primitives (and exact ASCII strings within the length limit)
without a call per value; ``render`` keeps a per-template plan, remade when the scrubber
changes. Each edge case here is compared with the full path value by value, type included.
"""

from __future__ import annotations

import enum
import math
from typing import Any

import pytest

import obs
from obs import _messages
from obs._attributes import MAX_STRING_LENGTH, to_attribute_value, to_attributes


class Text(str):
    """A str subclass whose str() lies: the full path must be the one taken."""

    def __str__(self) -> str:
        return "lied"


class Level(enum.IntEnum):
    HIGH = 3


def _full_path(values: dict[str, Any]) -> dict[str, Any]:
    """The conversion every value would get without the fast path."""
    found: list[str] = []
    out = {k: to_attribute_value(v, found, k) for k, v in values.items() if v is not None}
    if found:
        out["obs.scrubbed"] = tuple(dict.fromkeys(found))
    return out


EDGE_CASES: dict[str, Any] = {
    "plain": "x",
    "empty": "",
    "at_limit": "a" * MAX_STRING_LENGTH,
    "over_limit": "a" * (MAX_STRING_LENGTH + 1),
    "lone_surrogate": "ab\ud800cd",
    "non_ascii": "héllo ✓",
    "subclass": Text("real"),
    "true": True,
    "false": False,
    "one": 1,
    "zero": 0,
    "big": 2**70,
    "enum": Level.HIGH,
    "nan": math.nan,
    "inf": math.inf,
    "float": 2.5,
    "none": None,
    "password": "hunter2",
    "header": "Bearer abcdefgh12345678",
    "bytes": b"raw",
    "list": ["a", "b"],
    "nested": {"token": "Bearer abcdefgh12345678"},
}


@pytest.mark.parametrize("key", sorted(EDGE_CASES))
def test_each_value_converts_as_the_full_path_does(obs_capture, key):
    values = {key: EDGE_CASES[key]}
    fast = to_attributes(values)
    full = _full_path(values)
    assert fast == full
    for name in fast:
        assert type(fast[name]) is type(full[name]), name
        if isinstance(fast[name], float) and math.isnan(fast[name]):
            assert math.isnan(full[name])


def test_all_together_in_order(obs_capture):
    fast = to_attributes(EDGE_CASES)
    full = _full_path(EDGE_CASES)
    assert list(fast) == list(full)
    assert {k: type(v) for k, v in fast.items()} == {k: type(v) for k, v in full.items()}


def test_bool_stays_bool_and_int_subclass_becomes_int(obs_capture):
    out = to_attributes({"flag": True, "level": Level.HIGH, "n": 1})
    assert out["flag"] is True
    assert type(out["level"]) is int
    assert out["level"] == 3
    assert type(out["n"]) is int


def test_str_subclass_and_surrogate_and_long_string_take_the_full_path(obs_capture):
    out = to_attributes(
        {"s": Text("real"), "sur": "x\udc80", "long": "b" * (MAX_STRING_LENGTH + 1)}
    )
    assert type(out["s"]) is str
    assert out["s"] == "real"
    assert out["sur"] == "x\ufffd"
    assert len(out["long"]) <= MAX_STRING_LENGTH
    assert "truncated" in out["long"]


def test_secret_looking_values_through_the_fast_path_are_scrubbed_on_export(obs_capture):
    with obs.span("login", password="hunter2", header="Bearer abcdefgh12345678", n=1):
        pass
    obs.info("login {user}", user="alice", password="hunter2", token="Bearer abcdefgh12345678")
    exported = list(obs_capture.spans)
    assert exported
    for span in exported:
        for value in (span.attributes or {}).values():
            assert "hunter2" not in str(value)
            assert "abcdefgh12345678" not in str(value)
    log = obs_capture.logs()[0]
    assert log.attributes["obs.msg"] == "login alice"
    assert log.attributes["obs.level"] == "info"
    assert log.attributes["obs.level_num"] == 9
    assert log.attributes["obs.span_type"] == "log"
    assert log.attributes["obs.msg_template"] == "login {user}"


def test_render_plan_follows_the_scrubber(obs_capture):
    template = "tenant {tenant_code} user {name}"
    obs_capture.configure(scrubbing=["tenant_code"])
    assert _messages.render(template, {"tenant_code": "t-1", "name": "al"}).startswith(
        "tenant [scrubbed: "
    )
    obs_capture.configure(scrubbing=False)
    assert _messages.render(template, {"tenant_code": "t-1", "name": "al"}) == "tenant t-1 user al"


def test_render_fast_field_matches_format(obs_capture):
    class Shout(str):
        def __format__(self, spec: str) -> str:
            return "LOUD"

    values = {"a": "plain", "b": Shout("quiet"), "c": 4, "d": 2.5}
    assert _messages.render("{a} {b} {c} {d:.2f} {a!r} {missing}", values) == (
        "plain LOUD 4 2.50 'plain' {missing}"
    )
