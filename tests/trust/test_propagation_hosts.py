"""A client cannot switch a service off, forge its keys or displace its attributes.

Through the real hosts: FastAPI over httpx (in-process ASGI) and on a real uvicorn, FastStream
on a real Redis with an outside producer (a broker without obs, as another team's would be).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from faststream.redis import RedisBroker
from opentelemetry import context as context_api
from opentelemetry.context import Context
from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import JSONResponse
from starlette.routing import Route

import obs
import obs_fastapi
from obs_faststream.redis import RedisTelemetryMiddleware
from tests.conftest import require_service
from tests.fastapi.conftest import Server, client
from tests.faststream.conftest import settle, unique, wait

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
UNSAMPLED = f"00-{TRACE_ID}-{PARENT_ID}-00"
SAMPLED = f"00-{TRACE_ID}-{PARENT_ID}-01"
REDIS = "redis://127.0.0.1:6379"

FORGED_BAGGAGE = (
    "obs.level=fatal,obs.span_type=log,obs.msg=%1b%5b2J%1b%5b31mPWNED,obs.level_num=21,"
    "http.request.method=DELETE,url.path=/admin,messaging.destination.name=forged,"
    "error.type=Forged,tenant=acme"
)
MANY_BAGGAGE = ",".join(f"b{i:03d}=v{i}" for i in range(180))


@contextlib.contextmanager
def _attached(ctx: Context) -> Iterator[None]:
    token = context_api.attach(ctx)
    try:
        yield
    finally:
        context_api.detach(token)


def http_app() -> FastAPI:
    app = FastAPI()

    @app.get("/items/{item_id}")
    async def item(item_id: int, request: Request) -> dict[str, Any]:
        obs.info("looked up {item_id}", item_id=item_id)
        return {"item_id": item_id}

    obs_fastapi.instrument_app(app)
    return app


# -- sampled=0 -------------------------------------------------------------------------------


async def test_a_client_sending_sampled_0_does_not_erase_the_server_span_or_its_logs(
    obs_capture: Any,
) -> None:
    async with client(http_app()) as c:
        response = await c.get("/items/3", headers={"traceparent": UNSAMPLED})
    assert response.status_code == 200
    server = obs_capture.one("GET /items/{item_id}")
    log = obs_capture.one("looked up {item_id}")
    assert f"{server.context.trace_id:032x}" == TRACE_ID  # joinable with the caller's trace
    assert f"{server.parent.span_id:016x}" == PARENT_ID
    assert log.parent.span_id == server.context.span_id


def test_sampled_0_on_a_real_uvicorn(obs_capture: Any) -> None:
    with Server(http_app()) as server, httpx.Client(base_url=server.url) as c:
        assert c.get("/items/4", headers={"traceparent": UNSAMPLED}).status_code == 200
    obs_capture.flush()
    assert f"{obs_capture.one('GET /items/{item_id}').context.trace_id:032x}" == TRACE_ID
    assert obs_capture.one("looked up {item_id}")


async def test_strict_keeps_w3c_sampling_for_a_mesh_of_ones_own_services(
    obs_capture: Any,
) -> None:
    obs_capture.configure(propagation="strict")
    async with client(http_app()) as c:
        await c.get("/items/3", headers={"traceparent": UNSAMPLED})
        await c.get("/items/5", headers={"traceparent": SAMPLED})
    assert len(obs_capture.find("GET /items/{item_id}")) == 1
    assert len(obs_capture.find("looked up {item_id}")) == 1


def _redis() -> None:
    require_service("redis")


async def _consume_one(headers: dict[str, str], capture: Any) -> str:
    """An outside producer (no obs) publishes; an obs-instrumented consumer logs inside."""
    _redis()
    producer = RedisBroker(REDIS, logger=None)
    broker = RedisBroker(REDIS, middlewares=[RedisTelemetryMiddleware()], logger=None)
    name = unique("trust")
    done = asyncio.Event()

    @broker.subscriber(list=name)
    async def handle(body: str) -> None:
        obs.info("handled {body}", body=body)
        done.set()

    async with producer, broker:
        await broker.start()
        await producer.publish("order-7", list=name, headers=headers)
        await wait(done)
        await settle(capture, f"process {name}")
    return name


async def test_an_outside_producers_sampled_0_does_not_erase_process_spans(
    obs_capture: Any,
) -> None:
    name = await _consume_one({"traceparent": UNSAMPLED}, obs_capture)
    process = obs_capture.one(f"process {name}")
    assert f"{process.context.trace_id:032x}" == TRACE_ID
    assert obs_capture.one("handled {body}").parent.span_id == process.context.span_id


# -- baggage -----------------------------------------------------------------------------------


async def test_baggage_cannot_forge_a_fatal_log_from_a_server_span(obs_capture: Any) -> None:
    async with client(http_app()) as c:
        await c.get("/items/3", headers={"traceparent": SAMPLED, "baggage": FORGED_BAGGAGE})
    server = obs_capture.one("GET /items/{item_id}")
    attributes = dict(server.attributes or {})
    assert attributes["tenant"] == "acme"
    assert attributes["http.request.method"] == "GET"
    assert attributes["url.path"] == "/items/3"
    for key in ("obs.level", "obs.span_type", "obs.msg", "obs.level_num", "error.type"):
        assert key not in attributes
    assert [s.name for s in obs_capture.logs()] == ["looked up {item_id}"]
    assert not any("\x1b" in str(v) for s in obs_capture.spans for v in s.attributes.values())


async def test_180_baggage_entries_do_not_push_the_http_attributes_out(obs_capture: Any) -> None:
    async with client(http_app()) as c:
        await c.get("/items/3", headers={"traceparent": SAMPLED, "baggage": MANY_BAGGAGE})
    attributes = dict(obs_capture.one("GET /items/{item_id}").attributes or {})
    assert attributes["http.request.method"] == "GET"
    assert attributes["url.path"] == "/items/3"
    assert attributes["http.response.status_code"] == 200
    assert attributes["obs.baggage.dropped"] >= 180 - 16
    assert sum(1 for key in attributes if key.startswith("b")) <= 16


async def test_baggage_through_faststream_cannot_forge_or_displace(obs_capture: Any) -> None:
    name = await _consume_one(
        {"traceparent": SAMPLED, "baggage": FORGED_BAGGAGE + "," + MANY_BAGGAGE}, obs_capture
    )
    attributes = dict(obs_capture.one(f"process {name}").attributes or {})
    assert attributes["messaging.destination.name"] == name
    assert attributes["messaging.system"] == "redis"
    assert attributes["messaging.operation.type"] == "process"
    assert "obs.level" not in attributes
    assert "obs.span_type" not in attributes
    assert attributes["tenant"] == "acme"
    assert [s.name for s in obs_capture.logs()] == ["handled {body}"]


# -- obs.inject / obs.extract on a transport obs does not instrument ------------------------


def test_public_inject_and_extract_over_a_real_http_transport(obs_capture: Any) -> None:
    """A bare Starlette app (no obs middleware) continues the caller's trace by hand."""

    async def handle(request: StarletteRequest) -> JSONResponse:
        with _attached(obs.extract(request.headers)), obs.span("handle by hand"):
            obs.info("inside")
        return JSONResponse({"ok": True})

    app = Starlette(routes=[Route("/", handle)])
    with Server(app) as server, httpx.Client(base_url=server.url) as c:
        headers: dict[str, str] = {}
        with obs.baggage(tenant="acme"), obs.span("caller"):
            obs.inject(headers)
            assert c.get("/", headers=headers).status_code == 200
    obs_capture.flush()
    caller, handled = obs_capture.one("caller"), obs_capture.one("handle by hand")
    assert handled.parent.span_id == caller.context.span_id
    assert handled.attributes["tenant"] == "acme"


@pytest.mark.parametrize("policy", ["link", "ignore"])
def test_public_extract_link_and_ignore_over_http(obs_capture: Any, policy: str) -> None:
    obs_capture.configure(propagation=policy)

    async def handle(request: StarletteRequest) -> JSONResponse:
        with _attached(obs.extract(request.headers)), obs.span("handle by hand"):
            pass
        return JSONResponse({"ok": True})

    app = Starlette(routes=[Route("/", handle)])
    with Server(app) as server, httpx.Client(base_url=server.url) as c:
        c.get("/", headers={"traceparent": SAMPLED})
    obs_capture.flush()
    span = obs_capture.one("handle by hand")
    assert span.parent is None
    assert f"{span.context.trace_id:032x}" != TRACE_ID
    assert len(span.links) == (1 if policy == "link" else 0)
