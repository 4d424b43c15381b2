"""Incoming context through the core propagation policy, per app overrides, bad headers."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI

import obs_fastapi
from tests.fastapi.conftest import build_app, client

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT_ID = "b7ad6b7169203331"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"


def app_with(**options: Any) -> FastAPI:
    app = build_app()
    obs_fastapi.instrument_app(app, **options)
    return app


async def test_trust_continues_the_callers_trace(obs_capture: Any) -> None:
    async with client(app_with()) as c:
        await c.get("/items/1", headers={"traceparent": TRACEPARENT, "baggage": "tenant=acme"})
    span = obs_capture.one()
    assert format(span.context.trace_id, "032x") == TRACE_ID
    assert format(span.parent.span_id, "016x") == PARENT_ID
    assert span.parent.is_remote
    assert span.attributes["tenant"] == "acme"  # baggage, through obs's pipeline


async def test_link_policy_from_configure(obs_capture: Any) -> None:
    obs_capture.configure(propagation="link")
    async with client(app_with()) as c:
        await c.get("/items/1", headers={"traceparent": TRACEPARENT})
    span = obs_capture.one()
    assert format(span.context.trace_id, "032x") != TRACE_ID
    assert span.parent is None
    (link,) = span.links
    assert format(link.context.trace_id, "032x") == TRACE_ID


@pytest.mark.parametrize(("policy", "linked"), [("link", True), ("ignore", False)])
async def test_per_app_policy_overrides_the_core(
    obs_capture: Any, policy: str, linked: bool
) -> None:
    async with client(app_with(propagation=policy)) as c:
        await c.get("/items/1", headers={"traceparent": TRACEPARENT})
    span = obs_capture.one()
    assert span.parent is None
    assert format(span.context.trace_id, "032x") != TRACE_ID
    assert bool(span.links) is linked


@pytest.mark.parametrize(
    "headers",
    [
        {"traceparent": "00-zzzz-not-a-trace-01"},
        {"traceparent": "00-" + "0" * 32 + "-" + "0" * 16 + "-01"},
        {"traceparent": "ff" * 200},
        {"traceparent": TRACEPARENT, "tracestate": "=,=,==;;"},
        {"baggage": "%%%;;==,=broken"},
        {"baggage": "k=" + "v" * 10_000},
        {"traceparent": "\x00\x01garbage"},
    ],
)
async def test_malformed_headers_never_change_the_app(
    obs_capture: Any, headers: dict[str, str]
) -> None:
    async with client(app_with()) as c:
        response = await c.get("/items/5", headers=headers)
    assert response.status_code == 200
    assert response.json() == {"item_id": 5, "q": None}
    (span,) = obs_capture.spans
    assert span.name == "GET /items/{item_id}"
    if "traceparent" in headers and headers["traceparent"] != TRACEPARENT:
        assert span.parent is None
        assert span.attributes["obs.propagation.malformed"] == ("traceparent",)


async def test_duplicate_trace_headers(obs_capture: Any) -> None:
    async with client(app_with()) as c:
        response = await c.get(
            "/items/1",
            headers=[("traceparent", TRACEPARENT), ("traceparent", TRACEPARENT)],
        )
    assert response.status_code == 200
    assert len(obs_capture.spans) == 1


async def test_no_header_nests_under_the_current_span(obs_capture: Any) -> None:
    import obs

    async with client(app_with()) as c:
        with obs.span("test driver"):
            await c.get("/items/1")
    assert obs_capture.tree() == ["test driver", "  GET /items/{item_id}"]
