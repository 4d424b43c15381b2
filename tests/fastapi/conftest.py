"""Real FastAPI/Starlette apps, driven through HTTPX (in-process ASGI) or a real uvicorn."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any

import httpx
import uvicorn
from fastapi import APIRouter, BackgroundTasks, FastAPI, HTTPException, WebSocket
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

import obs


class Boom(RuntimeError):
    """The user's own exception: it must come out of the app unchanged."""


class Login(BaseModel):
    user: str
    password: str


def build_app(**telemetry: Any) -> FastAPI:
    """An app with every shape the tests need. ``telemetry``: FastAPI's native settings."""
    app = FastAPI(telemetry=telemetry or None)

    @app.get("/items/{item_id}")
    async def read_item(item_id: int, q: str | None = None) -> dict[str, Any]:
        return {"item_id": item_id, "q": q}

    @app.post("/login")
    def login(body: Login, api_key: str | None = None) -> dict[str, str]:
        return {"user": body.user}

    @app.get("/boom")
    async def boom() -> None:
        raise Boom("kaboom")

    @app.get("/missing")
    async def missing() -> None:
        raise HTTPException(status_code=404, detail="nope")

    @app.get("/unavailable")
    async def unavailable() -> JSONResponse:
        return JSONResponse({"retry": True}, status_code=503)

    @app.get("/stream")
    async def stream(chunks: int = 50) -> StreamingResponse:
        async def body() -> AsyncIterator[bytes]:
            for i in range(chunks):
                yield f"chunk {i}\n".encode()
                await asyncio.sleep(0)

        return StreamingResponse(body(), media_type="text/plain")

    @app.get("/slow-stream")
    async def slow_stream() -> StreamingResponse:
        async def body() -> AsyncIterator[bytes]:
            for i in range(10_000):
                yield f"chunk {i}\n".encode() * 100
                await asyncio.sleep(0.01)

        return StreamingResponse(body(), media_type="text/plain")

    @app.get("/stream-fails")
    async def stream_fails() -> StreamingResponse:
        async def body() -> AsyncIterator[bytes]:
            yield b"first\n"
            raise Boom("mid-stream")

        return StreamingResponse(body(), media_type="text/plain")

    @app.get("/background")
    async def background(tasks: BackgroundTasks) -> dict[str, bool]:
        def later() -> None:
            with obs.span("background work"):
                pass

        tasks.add_task(later)
        return {"queued": True}

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/headers")
    async def headers() -> JSONResponse:
        response = JSONResponse({"ok": True})
        response.headers["x-request-id"] = "req-123"
        response.set_cookie("session", "s3cr3t-session")
        return response

    @app.websocket("/ws/{room}")
    async def chat(websocket: WebSocket, room: str) -> None:
        await websocket.accept()
        text = await websocket.receive_text()
        if text == "boom":
            raise Boom("ws kaboom")
        await websocket.send_text(f"{room}: {text}")
        await websocket.close()

    users = APIRouter(prefix="/users")

    @users.get("/{user_id}/orders/{order_id}", name="user-order")
    async def order(user_id: int, order_id: str) -> dict[str, Any]:
        return {"user_id": user_id, "order_id": order_id}

    app.include_router(users, prefix="/v1")

    sub = FastAPI()

    @sub.get("/things/{thing_id}")
    async def thing(thing_id: str) -> dict[str, str]:
        return {"thing": thing_id}

    app.mount("/tenants/{tenant}", sub)

    async def plain(request: Request) -> PlainTextResponse:
        return PlainTextResponse(request.path_params["name"])

    app.mount("/legacy", Starlette(routes=[Route("/hello/{name}", plain)]))
    return app


def client(app: Any, **kwargs: Any) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 51000), **kwargs)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


class Server:
    """A real uvicorn server on loopback, in a thread."""

    def __init__(self, app: Any) -> None:
        self.config = uvicorn.Config(
            app, host="127.0.0.1", port=0, log_level="error", lifespan="off"
        )
        self.server = uvicorn.Server(self.config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        for _ in range(500):
            if self.server.started:
                break
            threading.Event().wait(0.01)
        assert self.server.started, "uvicorn did not start"
        return self

    @property
    def url(self) -> str:
        sockets = self.server.servers[0].sockets
        host, port = sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
