"""Planted secrets never reach an exporter; what was scrubbed is listed on the span."""

from __future__ import annotations

import json
from typing import Any

import pytest

import obs
from obs import ScrubbingOptions, ScrubMatch

SECRETS = [
    "hunter2-pass",
    "sk-proj-abcdefghijklmnopqrstuvwx",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlMTIz",
    "4111 1111 1111 1111",
    "AKIAABCDEFGHIJKLMNOP",
    "s3ss10n-c00kie-value",
]


def exported_text(capture) -> str:
    """Everything an exporter would receive, as one string."""
    parts = []
    for span in capture.spans:
        parts.append(span.name)
        parts.append(span.status.description or "")
        parts.append(json.dumps(dict(span.attributes or {}), default=str))
        for event in span.events:
            parts.append(json.dumps(dict(event.attributes or {}), default=str))
        for link in span.links:
            parts.append(json.dumps(dict(link.attributes or {}), default=str))
    return "\n".join(parts)


def test_secret_keys_values_and_messages_are_scrubbed(obs_capture):
    with obs.span(
        "login",
        password="hunter2-pass",
        api_key="sk-proj-abcdefghijklmnopqrstuvwx",
        **{"http.request.header.authorization": f"Bearer {SECRETS[2]}"},
        note="paid with 4111 1111 1111 1111 today",
        aws="key AKIAABCDEFGHIJKLMNOP in text",
        body=json.dumps({"user": "bob", "session": "s3ss10n-c00kie-value", "items": [1, 2]}),
        query="page=2&token=s3ss10n-c00kie-value",
    ):
        obs.info("user {user} logged in with {password}", user="bob", password="hunter2-pass")
    text = exported_text(obs_capture)
    for secret in SECRETS:
        assert secret not in text
    # what is not secret survives
    login = obs_capture.one("login")
    assert json.loads(login.attributes["body"])["user"] == "bob"
    assert "page=2" in login.attributes["query"]
    assert login.attributes["password"] == "[scrubbed: password]"
    scrubbed = set(login.attributes["obs.scrubbed"])
    assert {
        "password",
        "api_key",
        "http.request.header.authorization",
        "note",
        "body.session",
    } <= scrubbed
    log = obs_capture.one("user {user} logged in with {password}")
    assert log.attributes["obs.msg"] == "user bob logged in with [scrubbed: password]"


def test_exception_messages_and_stacktraces_are_scrubbed(obs_capture):
    with pytest.raises(RuntimeError), obs.span("call upstream"):
        raise RuntimeError("upstream rejected api_key=sk-proj-abcdefghijklmnopqrstuvwx")
    text = exported_text(obs_capture)
    assert "sk-proj-abcdefghijklmnopqrstuvwx" not in text
    span = obs_capture.one("call upstream")
    assert "[scrubbed: api key]" in span.status.description  # labels name the rule
    assert "events.exception.exception.message" in span.attributes["obs.scrubbed"]


def test_harmless_look_alikes_are_kept(obs_capture):
    with obs.span(
        "chat gpt-4o",
        **{
            "gen_ai.usage.input_tokens": 12,
            "gen_ai.request.max_tokens": 100,
            "author": "ann",
            "order_id": 4111111111111112,  # numbers are not text; and this fails the Luhn check
            "message": "reset your password via the link",
            "digits": "order 4111111111111112 shipped",
        },
    ):
        pass
    span = obs_capture.one("chat gpt-4o")
    assert "obs.scrubbed" not in span.attributes
    assert span.attributes["author"] == "ann"
    assert span.attributes["digits"] == "order 4111111111111112 shipped"


def test_extra_patterns_and_callback(obs_capture):
    seen: list[ScrubMatch] = []

    def keep_test_tokens(match: ScrubMatch) -> object:
        seen.append(match)
        if match.path == "debug_token":
            return match.value  # the user says this one is harmless
        return None

    obs_capture.configure(
        scrubbing=ScrubbingOptions(extra_patterns=[r"national[_ ]id"], callback=keep_test_tokens)
    )
    with obs.span("kyc", national_id="123-45", debug_token="visible", secret="hidden"):
        pass
    attrs = obs_capture.one("kyc").attributes
    assert attrs["national_id"].startswith("[scrubbed: national")
    assert attrs["debug_token"] == "visible"
    assert attrs["secret"] == "[scrubbed: secret]"
    assert {m.path for m in seen} == {"national_id", "debug_token", "secret"}
    assert set(attrs["obs.scrubbed"]) == {"national_id", "secret"}


def test_scrubbing_can_be_turned_off(obs_capture):
    obs_capture.configure(scrubbing=False)
    with obs.span("raw", password="visible"):
        pass
    assert obs_capture.one("raw").attributes["password"] == "visible"


def test_scrubbing_off_by_env(obs_capture, monkeypatch):
    monkeypatch.setenv("OBS_SCRUBBING", "false")
    obs_capture.configure()
    with obs.span("raw", password="visible"):
        pass
    assert obs_capture.one("raw").attributes["password"] == "visible"


def test_secrets_in_sequences_and_links(obs_capture):
    from opentelemetry.trace import Link, SpanContext, TraceFlags

    tracer = obs.tracer("t")
    linked = SpanContext(1, 2, is_remote=True, trace_flags=TraceFlags(1))
    with tracer.start_as_current_span(
        "batch",
        attributes={"headers": ("x=1", "Authorization: Bearer abcdefghijkl123456")},
        links=[Link(linked, {"cookie": "s3ss10n-c00kie-value"})],
    ):
        pass
    text = exported_text(obs_capture)
    assert "abcdefghijkl123456" not in text
    assert "s3ss10n-c00kie-value" not in text


def test_links_without_secrets_keep_the_clean_path_and_a_secret_in_a_link_is_scrubbed() -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Link, SpanContext, TraceFlags

    from obs._scrubbing import Scrubber

    tracer = TracerProvider().get_tracer("t")
    linked = SpanContext(1, 2, is_remote=True, trace_flags=TraceFlags(1))
    scrubber = Scrubber()

    def walked(*args: object) -> None:
        raise AssertionError("a clean span was walked attribute by attribute")

    scrubber.scrub_attributes = walked  # type: ignore[method-assign]
    for links in ([Link(linked)], [Link(linked, {"obs.link.reason": "incoming"})]):
        span = tracer.start_span("process orders", attributes={"n": 1}, links=links)
        span.end()
        assert scrubber.scrub_span(span) is span  # the clean path: no walk, no copy
    del scrubber.scrub_attributes
    span = tracer.start_span(
        "process orders",
        attributes={"n": 1},
        links=[Link(linked), Link(linked, {"cookie": "s3ss10n-c00kie-value"})],
    )
    span.end()
    scrubbed = scrubber.scrub_span(span)
    assert scrubbed is not span
    assert "s3ss10n-c00kie-value" not in str(
        [dict(link.attributes or {}) for link in scrubbed.links]
    )
    assert scrubbed.attributes["obs.scrubbed"]


def test_a_key_that_only_looks_like_a_secret_is_decided_once() -> None:
    from opentelemetry.sdk.trace import TracerProvider

    from obs._scrubbing import Scrubber

    tracer = TracerProvider().get_tracer("t")
    scrubber = Scrubber()

    def span(attributes: dict[str, object]) -> Any:
        made = tracer.start_span("chat", attributes=attributes)  # type: ignore[arg-type]
        made.end()
        return made

    # "tokens" is a trigger word, with no secret after it: clean, and the next span with the
    # same key is not walked attribute by attribute.
    first = span({"gen_ai.usage.input_tokens": 5})
    assert scrubber.scrub_span(first) is first

    def walked(*args: object) -> None:
        raise AssertionError("a clean span was walked attribute by attribute")

    scrubber.scrub_attributes = walked  # type: ignore[method-assign]
    second = span({"gen_ai.usage.input_tokens": 8})
    assert scrubber.scrub_span(second) is second
    del scrubber.scrub_attributes
    # A key holding a secret is still replaced, every time.
    for _ in range(2):
        leaky = span({"token=ghp_abcdefghijklmnopqrstuvwxyz0123456789": 1})
        out = dict(scrubber.scrub_span(leaky).attributes or {})
        assert "ghp_abcdefghijklmnopqrstuvwxyz0123456789" not in str(out)


def test_integrations_declare_identifier_keys(obs_capture):
    from obs.instrumentation import declare_identifier_keys

    card_like = "4111 1111 1111 1111"  # passes the Luhn check: scrubbed unless an identifier
    with obs.span("before", **{"test.order_ref": card_like}):
        pass
    declare_identifier_keys("test.order_ref")  # after configure: takes effect at once
    with obs.span("after", **{"test.order_ref": card_like}):
        pass
    assert obs_capture.one("before").attributes["test.order_ref"] == "[scrubbed: card number]"
    assert obs_capture.one("after").attributes["test.order_ref"] == card_like
