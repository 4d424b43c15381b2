"""Switching on and off, per client or everywhere, the registry route, and the promises:
nothing injected into requests, non-model endpoints untouched, obs failures swallowed."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from openai._base_client import AsyncAPIClient, SyncAPIClient

import obs
import obs_openai
from obs.testing import Capture
from obs_openai import _instrument
from obs_openai.testing import make_transport, stand_in_client
from obs_openai.testing._transport import httpx_module

from .conftest import MESSAGES

ORIGINAL_SYNC = SyncAPIClient.__dict__["request"]
ORIGINAL_ASYNC = AsyncAPIClient.__dict__["request"]


def test_uninstrument_restores_the_client_exactly(obs_capture: Capture, client: Any) -> None:
    obs_openai.instrument_openai()
    assert SyncAPIClient.__dict__["request"] is not ORIGINAL_SYNC
    assert obs_openai.is_instrumented()
    obs_openai.uninstrument_openai()
    assert SyncAPIClient.__dict__["request"] is ORIGINAL_SYNC
    assert AsyncAPIClient.__dict__["request"] is ORIGINAL_ASYNC
    assert not obs_openai.is_instrumented()
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert obs_capture.spans == []


def test_instrument_is_idempotent(obs_capture: Capture, client: Any) -> None:
    obs_openai.instrument_openai()
    obs_openai.instrument_openai()
    try:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    finally:
        obs_openai.uninstrument_openai()
    assert len(obs_capture.spans) == 1
    assert SyncAPIClient.__dict__["request"] is ORIGINAL_SYNC


def test_one_client_only(obs_capture: Capture) -> None:
    traced, untraced = stand_in_client(), stand_in_client()
    obs_openai.instrument_openai(traced)
    try:
        assert obs_openai.is_instrumented(traced)
        assert not obs_openai.is_instrumented(untraced)
        traced.chat.completions.create(model="traced", messages=MESSAGES)
        untraced.chat.completions.create(model="untraced", messages=MESSAGES)
    finally:
        obs_openai.uninstrument_openai(traced)
    assert [s.name for s in obs_capture.spans] == ["chat traced"]
    assert SyncAPIClient.__dict__["request"] is ORIGINAL_SYNC


def test_registry_route(obs_capture: Capture, client: Any) -> None:
    handle = obs_capture.configure(instrument=["openai"])
    assert handle.instrumented == ("openai",)
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert [s.name for s in obs_capture.spans] == ["chat gpt-4o-mini"]
    info = {i.name: i for i in obs.integrations()}["openai"]
    assert info.status == "instrumented"


def test_registry_options(obs_capture: Capture, client: Any) -> None:
    obs_capture.configure(instrument={"openai": {"capture_content": True}})
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert "gen_ai.input.messages" in (obs_capture.one("chat gpt-4o-mini").attributes or {})


def test_non_model_endpoints_pass_through(instrumented: Capture, client: Any) -> None:
    with pytest.raises(Exception):  # noqa: B017,PT011 - the stand-in has no /models route
        client.models.list()
    assert instrumented.spans == []


def test_nothing_is_injected_into_the_request(instrumented: Capture) -> None:
    httpx = httpx_module()
    transport = make_transport()
    seen: list[dict[str, str]] = []

    class Recording(type(transport)):  # type: ignore[misc]
        def handle_request(self, request: Any) -> Any:
            seen.append(dict(request.headers))
            return super().handle_request(request)

    recorded = stand_in_client(http_client=httpx.Client(transport=Recording()))
    with obs.span("parent"):
        recorded.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    obs_openai.uninstrument_openai()
    recorded.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    traced, bare = seen
    for headers in (traced, bare):
        headers.pop("x-stainless-retry-count", None)
        headers.pop("idempotency-key", None)
        headers.pop("x-stainless-read-timeout", None)
    assert traced == bare
    assert "traceparent" not in traced


def test_obs_failures_are_swallowed(
    instrumented: Capture, client: Any, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    def broken(*args: Any) -> None:
        raise RuntimeError("obs bug")

    monkeypatch.setattr(_instrument, "request_attributes", broken)
    with caplog.at_level(logging.WARNING, logger="obs"):
        completion = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert completion.choices[0].message.content.startswith("This is")
    assert instrumented.spans == []
    monkeypatch.undo()

    class Weird:
        """A result obs cannot read: the user still gets it as is."""

    call = _instrument._start(
        _instrument._state.everywhere,  # type: ignore[arg-type]
        client,
        type(
            "O",
            (),
            {
                "method": "post",
                "url": "/chat/completions",
                "json_data": {"model": "m"},
                "extra_json": None,
            },
        )(),
        False,
    )
    assert call is not None
    weird = Weird()
    assert _instrument._returned(call, weird) is weird
    assert len(instrumented.find("chat m")) == 1


def test_with_options_copies_are_traced(instrumented: Capture, client: Any) -> None:
    client.with_options(timeout=5).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert len(instrumented.spans) == 1


def test_obs_openai_declares_its_identifier_keys() -> None:
    """The ids and enumerations obs-openai writes are declared by obs-openai, not assumed to be
    in core's list: the scrubber neither treats them as secrets nor searches their values."""
    from obs._scrub_options import IDENTIFIER_KEYS
    from obs_openai import _semconv

    assert {_semconv.API_TYPE, _semconv.SYSTEM_FINGERPRINT, _semconv.RESPONSE_ID} <= set(
        _semconv.IDENTIFIERS
    )
    assert set(_semconv.IDENTIFIERS) <= IDENTIFIER_KEYS


def test_optional_fields_read_as_get_does() -> None:
    """``optional`` (for fields most answers lack) answers exactly as ``get``."""
    from openai.types.completion_usage import CompletionUsage, PromptTokensDetails

    from obs_openai._messages import get, optional

    details = PromptTokensDetails(cached_tokens=3, audio_tokens=1)
    with_extra = CompletionUsage.model_validate(
        {
            "prompt_tokens": 5,
            "completion_tokens": 2,
            "total_tokens": 7,
            "cache_creation_input_tokens": 4,
        }
    )

    class Plain:
        text_tokens = 9

        @property
        def image_tokens(self) -> int:
            return 2

    for obj in (details, with_extra, Plain(), {"text_tokens": 1}, {}):
        for name in (
            "cached_tokens",
            "audio_tokens",
            "text_tokens",
            "image_tokens",
            "cache_write_tokens",
            "cache_creation_input_tokens",
            "prompt_tokens",
            "model_fields_set",
        ):
            assert optional(obj, name) == get(obj, name), (obj, name)
    assert optional(with_extra, "cache_creation_input_tokens") == 4
