"""Secrets the scrubber let through in encoded text: URL-encoded JSON, base64-wrapped JSON."""

from __future__ import annotations

import base64
import json
import urllib.parse

import pytest

from obs._scrubbing import Scrubber


@pytest.mark.parametrize(
    "text",
    [
        # A JSON filter in a query string, as http.url and url.query carry it.
        "https://api.example.com/search?filter="
        + urllib.parse.quote(json.dumps({"password": "hunter2secret"})),
        urllib.parse.quote(json.dumps({"api_key": "hunter2secret"})),
        "q=" + urllib.parse.quote("{'password': 'hunter2secret'}"),
    ],
)
def test_url_encoded_json_secrets_are_replaced(text: str) -> None:
    found: list[str] = []
    out = Scrubber().scrub_text("url.full", text, found)
    assert "hunter2secret" not in out, out
    assert found == ["url.full"]


@pytest.mark.xfail(
    strict=True,
    reason="base64-wrapped JSON is not decoded: deciding which base64 runs to decode (and "
    "bounding the cost) is a design change, not a fix",
)
def test_base64_wrapped_json_secret_is_replaced() -> None:
    text = base64.b64encode(json.dumps({"password": "hunter2secret"}).encode()).decode()
    found: list[str] = []
    out = Scrubber().scrub_text("cookie", text, found)
    assert out != text
