"""Secrets the scrubber let through as attribute keys (a token used as a dict key, say)."""

from __future__ import annotations

import json

import pytest
from opentelemetry.sdk.trace import TracerProvider

from obs._scrubbing import Scrubber

API_KEY = "sk-proj-" + "Ab3dEf9hIjKlMnOpQrStUvWx" + "yz0123456789ABCDEFGH"
GITHUB = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"


def _scrubbed(attributes: dict[str, object]) -> dict[str, object]:
    tracer = TracerProvider().get_tracer("attack")
    span = tracer.start_span("work", attributes=attributes)  # type: ignore[arg-type]
    span.end()
    return dict(Scrubber().scrub_span(span).attributes or {})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "key",
    [API_KEY, f"tenant.{API_KEY}.requests", f"token={GITHUB}", f"{GITHUB}"],
)
def test_a_secret_used_as_an_attribute_key_is_replaced(key: str) -> None:
    out = _scrubbed({key: 3, "other": "x"})
    text = json.dumps(out)
    assert API_KEY not in text, out
    assert GITHUB not in text, out
    assert out["other"] == "x"
    assert len(out) == 3  # the renamed key, "other" and obs.scrubbed
    assert out["obs.scrubbed"]


def test_a_clean_key_keeps_the_clean_path() -> None:
    tracer = TracerProvider().get_tracer("attack")
    span = tracer.start_span("work", attributes={"http.route": "/users/{id}", "n": 1})
    span.end()
    scrubber = Scrubber()
    assert scrubber.scrub_span(span) is span
    assert scrubber.scrub_span(span) is span
