"""Opt-in content: headers, validated arguments, validation errors; redaction and scrubbing."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.telemetry import get_telemetry_data

import obs_fastapi
from tests.fastapi.conftest import build_app, client


def app_with(**options: Any) -> FastAPI:
    app = build_app()
    obs_fastapi.instrument_app(app, **options)
    return app


async def test_nothing_private_is_recorded_by_default(obs_capture: Any) -> None:
    async with client(app_with()) as c:
        await c.post("/login", json={"user": "ann", "password": "hunter2"})
        await c.post("/login", json={"user": "ann"})
    for span in obs_capture.spans:
        assert not [k for k in span.attributes if k.startswith("http.request.header.")]
        assert "fastapi.arguments" not in span.attributes
        assert "fastapi.validation.errors" not in span.attributes


async def test_request_headers_with_credentials_always_scrubbed(obs_capture: Any) -> None:
    obs_capture.configure(scrubbing=False)  # even with obs's scrubbing switched off
    async with client(app_with(capture_request_headers=True)) as c:
        await c.get(
            "/items/1",
            headers={
                "authorization": "Bearer abcdefghijklmnop",
                "cookie": "session=abc",
                "x-api-key": "k-123",
                "x-tenant": "acme",
            },
        )
    attrs = obs_capture.one().attributes
    assert attrs["http.request.header.x-tenant"] == ("acme",)
    for name in ("authorization", "cookie", "x-api-key"):
        assert attrs[f"http.request.header.{name}"] == ("[scrubbed: sensitive header]",)
    assert "abcdefghijklmnop" not in json.dumps(dict(attrs), default=str)


async def test_selected_request_and_response_headers(obs_capture: Any) -> None:
    app = app_with(
        capture_request_headers=["X-Tenant"],
        capture_response_headers=["x-request-id", "set-cookie"],
    )
    async with client(app) as c:
        await c.get("/headers", headers={"x-tenant": "acme", "x-other": "no"})
    attrs = obs_capture.one().attributes
    assert attrs["http.request.header.x-tenant"] == ("acme",)
    assert "http.request.header.x-other" not in attrs
    assert attrs["http.response.header.x-request-id"] == ("req-123",)
    assert "s3cr3t-session" not in str(attrs["http.response.header.set-cookie"])


async def test_sensitive_query_parameters_redacted(obs_capture: Any) -> None:
    app = app_with(sensitive_query_parameters=["otp"])
    async with client(app) as c:
        await c.get("/items/1?q=x&X-Amz-Signature=abc123&sig=zzz&otp=999999")
        await c.get("/items/1?q=x&token=abcdef0123456789&password=hunter2")
    first, second = (s.attributes["url.query"] for s in obs_capture.spans)
    assert first == "q=x&X-Amz-Signature=REDACTED&sig=REDACTED&otp=REDACTED"
    # names like token/password are caught by obs's scrubbing pipeline
    assert "abcdef0123456789" not in second
    assert "hunter2" not in second
    assert second.startswith("q=x&")


async def test_validated_arguments_scrubbed(obs_capture: Any) -> None:
    app = app_with(capture_arguments=True)
    async with client(app) as c:
        await c.post(
            "/login?api_key=sk-live-0123456789abcdef", json={"user": "ann", "password": "hunter2"}
        )
        await c.get("/items/3?q=hello")
    login, item = obs_capture.spans
    recorded = json.loads(login.attributes["fastapi.arguments"])
    assert recorded["body"]["user"] == "ann"
    assert "hunter2" not in login.attributes["fastapi.arguments"]
    assert "0123456789abcdef" not in login.attributes["fastapi.arguments"]
    assert json.loads(item.attributes["fastapi.arguments"]) == {"item_id": 3, "q": "hello"}


async def test_validation_errors_of_a_422(obs_capture: Any) -> None:
    app = app_with(capture_validation_errors=True)
    async with client(app) as c:
        response = await c.post("/login", json={"user": "ann", "password": 12})
        bad_json = await c.post(
            "/login",
            content=b'{"user": "ann", "password": "hun',
            headers={"content-type": "application/json"},
        )
    assert response.status_code == 422
    assert bad_json.status_code == 422
    first, second = obs_capture.spans
    assert first.attributes["http.response.status_code"] == 422
    assert first.attributes["fastapi.validation.error_count"] == 1
    errors = json.loads(first.attributes["fastapi.validation.errors"])
    assert errors[0]["loc"] == ["body", "password"]
    assert "fastapi.arguments" not in first.attributes
    assert json.loads(second.attributes["fastapi.validation.errors"])[0]["type"] == "json_invalid"


async def test_capture_content_switches_both_on(obs_capture: Any) -> None:
    obs_capture.configure(capture_content=True)
    async with client(app_with()) as c:
        await c.get("/items/8")
        await c.get("/items/not-a-number")
    ok, invalid = obs_capture.spans
    assert json.loads(ok.attributes["fastapi.arguments"]) == {"item_id": 8, "q": None}
    assert json.loads(invalid.attributes["fastapi.validation.errors"])[0]["loc"] == [
        "path",
        "item_id",
    ]


async def test_request_data_for_processors(obs_capture: Any) -> None:
    """FastAPI's get_telemetry_data() works under obs when content capture is on."""
    app = app_with(capture_arguments=True)
    seen: list[Any] = []

    @app.get("/peek/{n}")
    async def peek(n: int, request: Request) -> dict[str, int]:
        data = get_telemetry_data()
        seen.append(data.values if data else None)
        return {"n": n}

    async with client(app) as c:
        await c.get("/peek/4")
    assert seen[0]["n"] == 4
    arguments = json.loads(obs_capture.one().attributes["fastapi.arguments"])
    assert arguments == {"n": 4}  # the Request object is plumbing, not data
