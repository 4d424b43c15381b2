"""Values as they enter obs: scrubbed before they are cut, as structures, whatever their type."""

from __future__ import annotations

import json
import sqlite3

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

import obs
from obs._attributes import MAX_STRING_LENGTH, to_attribute_value
from obs._scrubbing import Scrubber

SCRUBBER = Scrubber()


def exported(span) -> str:
    parts = [span.name, span.status.description or "", json.dumps(dict(span.attributes))]
    for event in span.events:
        parts += [event.name, json.dumps(dict(event.attributes or {}))]
    return "\n".join(parts)


def test_structured_values_are_scrubbed_before_they_are_cut(obs_capture):
    state = {"credentials": {"user": "u", "value": "CredValue123"}, "filler": "x" * 9000}
    with obs.span("big", state=state, body=json.dumps(state)):
        pass
    span = obs_capture.one("big")
    assert "CredValue123" not in exported(span)
    assert len(span.attributes["state"]) <= MAX_STRING_LENGTH
    assert "state.credentials" in span.attributes["obs.scrubbed"]


def test_long_strings_are_searched_in_full_before_they_are_cut(obs_capture):
    # the cut would fall inside the key, leaving a prefix too short to be recognised
    text = "a" * 8140 + " sk-proj-abcdefghijklmnopqrstuvwx" + " tail" * 20
    with obs.span("long", text=text):
        pass
    value = obs_capture.one("long").attributes["text"]
    assert "sk-proj" not in value
    assert "[truncated" in value or "[scrubbed: api key]" in value


def test_secrets_used_as_dict_keys(obs_capture):
    keyed = {"sk_live_51HxYzAbCdEfGh12345678": 1, "ok": {"ghp_" + "a1" * 18: True}}
    with obs.span("keys", parsed=keyed, raw=json.dumps(keyed)):
        pass
    span = obs_capture.one("keys")
    text = exported(span)
    assert "51HxYzAbCdEfGh" not in text
    assert "a1a1a1a1" not in text
    for name in ("parsed", "raw"):
        decoded = json.loads(span.attributes[name])
        assert decoded == {"[scrubbed: api key]": 1, "ok": {"[scrubbed: github token]": True}}


class Sneaky(str):
    """A str subclass that hides its content from ``lower`` and compares equal to anything."""

    def lower(self) -> str:
        return ""

    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = str.__hash__


def test_str_subclasses_are_scrubbed_as_plain_strings(obs_capture):
    secret = "sk-proj-abcdefghijklmnopqrstuvwx"
    found: list[str] = []
    assert secret not in SCRUBBER.scrub_text("v", Sneaky(f"key {secret}"), found)
    assert found == ["v"]
    with obs.span("sub", note=Sneaky(f"key {secret}"), items=[Sneaky(secret)]):
        pass
    tracer = obs.tracer("t")
    with tracer.start_as_current_span("sdk", attributes={"note": Sneaky(f"key {secret}")}):
        pass
    for name in ("sub", "sdk"):
        assert secret not in exported(obs_capture.one(name))


def test_card_numbers_as_integers(obs_capture):
    with obs.span(
        "ints",
        card=4111111111111111,
        order_id=4111111111111112,  # fails the Luhn check
        snowflake=1234567890123456789,  # no card network: kept
        millis=1_764_500_000_000,
    ):
        pass
    attrs = obs_capture.one("ints").attributes
    assert attrs["card"] == "[scrubbed: card number]"
    assert attrs["order_id"] == 4111111111111112
    assert attrs["snowflake"] == 1234567890123456789
    assert attrs["millis"] == 1_764_500_000_000
    assert SCRUBBER.scrub_value("v", {"n": [378282246310005]}, []) == {
        "n": ["[scrubbed: card number]"]
    }


def test_event_names_and_link_attributes_are_scrubbed(obs_capture):
    from opentelemetry.trace import Link, SpanContext, TraceFlags

    linked = SpanContext(1, 2, is_remote=True, trace_flags=TraceFlags(1))
    tracer = obs.tracer("t")
    with tracer.start_as_current_span(
        "events", links=[Link(linked, {"note": "redis://:LinkPw123@cache"})]
    ) as span:
        span.add_event("retry with password=EventPw123", {"detail": "ok"})
    s = obs_capture.one("events")
    assert "EventPw123" not in exported(s)
    assert "LinkPw123" not in json.dumps(dict(s.links[0].attributes))
    assert "events.name" in s.attributes["obs.scrubbed"]


@pytest.mark.parametrize(
    ("path", "kept"),
    [
        ("/reset/Zx8dK2pQ9vL4mN7bR1tY6wE3/confirm", False),
        ("/reset/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", False),
        ("/orders/550e8400-e29b-41d4-a716-446655440000", True),  # a UUID is an id
        ("/docs/getting-started-with-observability", True),  # no digits: a slug
        ("/files/report-2024-01-01-final-version", True),  # not varied enough
        ("/items/12345", True),
    ],
)
def test_token_like_path_segments(obs_capture, path, kept):
    with obs.span("req", **{"url.path": path, "url.full": f"https://h{path}?a=1"}):
        pass
    attrs = obs_capture.one("req").attributes
    if kept:
        assert attrs["url.path"] == path
        assert "obs.scrubbed" not in attrs
    else:
        assert "[scrubbed: path token]" in attrs["url.path"]
        assert "[scrubbed: path token]" in attrs["url.full"]
        assert attrs["url.full"].endswith("?a=1")


def test_the_host_of_a_full_url_is_not_a_path_token(obs_capture):
    url = "https://a1b2c3d4e5f6g7h8i9j0k1.example.com/x"
    with obs.span("req", **{"url.full": url}):
        pass
    assert obs_capture.one("req").attributes["url.full"] == url


def test_path_tokens_can_be_switched_off(obs_capture):
    obs_capture.configure(scrubbing=obs.ScrubbingOptions(path_tokens=False))
    with obs.span("req", **{"url.path": "/reset/Zx8dK2pQ9vL4mN7bR1tY6wE3"}):
        pass
    assert obs_capture.one("req").attributes["url.path"] == "/reset/Zx8dK2pQ9vL4mN7bR1tY6wE3"


def test_lone_surrogates_are_made_safe_where_values_enter():
    assert to_attribute_value("a\ud800b") == "a\ufffdb"
    assert to_attribute_value({"k\udcff": ["\ud800"]}) == '{"k\ufffd": ["\ufffd"]}'
    assert to_attribute_value(("x", "\ud800")) == ("x", "\ufffd")


def test_lone_surrogates_export_through_otlp_and_the_store(obs_capture, tmp_path):
    store = tmp_path / "spans.db"
    obs_capture.configure(store=store)
    tracer = obs.tracer("t")
    with obs.span("text", lone="\ud800", body={"k": "\udcff"}):
        obs.info("{a}", a="\udcff")
    # straight through the SDK API too: the scrubber makes these safe when the span ends
    with tracer.start_as_current_span("sdk\ud800", attributes={"raw": "x\ud800y"}) as span:
        span.add_event("e\udfff", {"v": ("\ud800",)})
    obs.force_flush()
    payload = encode_spans(obs_capture.spans).SerializeToString()
    assert payload
    names = {row[0] for row in sqlite3.connect(store).execute("SELECT name FROM spans")}
    assert {"text", "sdk\ufffd"} <= names


def test_scrub_value_walks_any_nesting():
    value = {"user": "bob", "auth": {"token": "abc"}, "list": [("password=x1",), 1.5, None]}
    found: list[str] = []
    out = SCRUBBER.scrub_value("body", value, found)
    assert out == {
        "user": "bob",
        "auth": "[scrubbed: auth]",
        "list": [["password=[scrubbed: password]"], 1.5, None],
    }
    assert found == ["body.auth", "body.list[0][0]"]
    assert value["auth"] == {"token": "abc"}  # the input is not changed
