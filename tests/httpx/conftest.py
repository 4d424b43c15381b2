"""A real HTTP server on loopback (uvicorn, port 0) for the obs-httpx tests, and the
instrumentation switched on around each test."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

import obs_httpx
from tests.fastapi.conftest import Server

CHUNKS = 5


async def headers(request: Request) -> Response:
    return JSONResponse({k: v for k, v in request.headers.items()})


async def status(request: Request) -> Response:
    return PlainTextResponse("status", status_code=int(request.path_params["code"]))


async def redirect(request: Request) -> Response:
    return RedirectResponse("/headers", status_code=302)


async def stream(request: Request) -> Response:
    async def body() -> Any:
        for i in range(CHUNKS):
            await asyncio.sleep(0.02)
            yield json.dumps({"chunk": i}).encode() + b"\n"

    return StreamingResponse(body(), media_type="application/x-ndjson")


def app() -> Starlette:
    return Starlette(
        routes=[
            Route("/headers", headers, methods=["GET", "POST", "PURGE"]),
            Route("/status/{code:int}", status),
            Route("/redirect", redirect),
            Route("/stream", stream),
        ]
    )


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with Server(app()) as running:
        yield running


@pytest.fixture
def instrumented(obs_capture: Any) -> Iterator[Any]:
    obs_capture.configure()
    obs_httpx.instrument_httpx()
    yield obs_capture
    obs_httpx.uninstrument_httpx()
