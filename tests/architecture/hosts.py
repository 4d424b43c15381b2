"""The four integrations seen the same way: what each patches, how to drive its host, and its
explicit (by hand) route, so one test matrix covers them all.

``exercise`` runs one real operation through the host (an HTTP request through FastAPI, a
message published and consumed by FastStream, an OpenAI call against the local stand-in, a
Burr application run) and returns the spans obs recorded for it.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from obs.testing import Capture

_MISSING = "<not set>"


def _own(owner: Any, attribute: str) -> object:
    return vars(owner).get(attribute, _MISSING)


@dataclass(frozen=True)
class Host:
    name: str
    #: "module:Class" of the integration (its entry point).
    integration: str
    #: (module, class or module attribute path, attribute) that instrumenting may change.
    targets: tuple[tuple[str, str, str], ...]
    #: Runs one operation and returns the names of the spans obs recorded for it.
    exercise: Callable[[Capture, bool], list[str]]
    #: The span names one operation produces when instrumented.
    expected: tuple[str, ...]

    def integration_class(self) -> Any:
        module, cls = self.integration.split(":")
        return getattr(importlib.import_module(module), cls)

    def snapshot(self) -> dict[str, object]:
        """What the host's patchable attributes hold right now (identity, not equality)."""
        out = {}
        for module, path, attribute in self.targets:
            owner: Any = importlib.import_module(module)
            for part in filter(None, path.split(".")):
                owner = getattr(owner, part)
            out[f"{module}:{path}.{attribute}"] = _own(owner, attribute)
        return out


def _obs_spans(capture: Capture, scope: str) -> list[str]:
    return [s.name for s in capture.spans if s.instrumentation_scope.name == scope]


# -- FastAPI --------------------------------------------------------------------------------
def _fastapi(capture: Capture, by_hand: bool) -> list[str]:
    from fastapi import FastAPI

    import obs_fastapi

    app = FastAPI()

    @app.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"item_id": item_id}

    if by_hand:
        obs_fastapi.instrument_app(app)

    async def call() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            assert (await client.get("/items/1")).status_code == 200

    capture.clear()
    asyncio.run(call())
    if by_hand:
        obs_fastapi.uninstrument_app(app)
    # FastAPI's own telemetry (scope "fastapi") must stay off in an instrumented app.
    return [s.name for s in capture.spans if s.instrumentation_scope.name != "fastapi"] + [
        f"native:{s.name}" for s in capture.spans if s.instrumentation_scope.name == "fastapi"
    ]


FASTAPI = Host(
    "fastapi",
    "obs_fastapi._integration:FastAPIIntegration",
    (("fastapi", "FastAPI", "__init__"),),
    _fastapi,
    ("GET /items/{item_id}",),
)


# -- FastStream (Kafka's in-memory test broker: real FastStream, no server needed) -----------
def _faststream(capture: Capture, by_hand: bool) -> list[str]:
    from faststream.kafka import KafkaBroker, TestKafkaBroker

    from obs_faststream.kafka import KafkaTelemetryMiddleware

    broker = KafkaBroker(middlewares=[KafkaTelemetryMiddleware()] if by_hand else ())

    @broker.subscriber("matrix")
    async def handle(body: str) -> None:
        pass

    async def run() -> None:
        async with TestKafkaBroker(broker):
            await broker.publish("x", "matrix")

    capture.clear()
    asyncio.run(run())
    return _obs_spans(capture, "obs.faststream")


FASTSTREAM = Host(
    "faststream",
    "obs_faststream._integration:FastStreamIntegration",
    (
        ("faststream._internal.broker.broker", "BrokerUsecase", "__init__"),
        ("faststream._internal.broker.broker", "BrokerUsecase", "add_middleware"),
        ("faststream._internal.broker.broker", "BrokerUsecase", "insert_middleware"),
    ),
    _faststream,
    ("send matrix", "process matrix"),
)


# -- OpenAI (the real client against the in-process stand-in) --------------------------------
def _openai(capture: Capture, by_hand: bool) -> list[str]:
    import obs_openai
    from obs_openai.testing import stand_in_client

    client = stand_in_client(max_retries=0)
    if by_hand:
        obs_openai.instrument_openai(client)
    capture.clear()
    try:
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
    finally:
        if by_hand:
            obs_openai.uninstrument_openai(client)
        client.close()
    return _obs_spans(capture, "obs.openai")


OPENAI = Host(
    "openai",
    "obs_openai._integration:OpenAIIntegration",
    (
        ("openai._base_client", "SyncAPIClient", "request"),
        ("openai._base_client", "AsyncAPIClient", "request"),
    ),
    _openai,
    ("chat gpt-4o-mini",),
)


# -- Burr -----------------------------------------------------------------------------------
def _burr(capture: Capture, by_hand: bool) -> list[str]:
    from burr.core import ApplicationBuilder, State, action, default

    from obs_burr import ObsHooks

    @action(reads=["n"], writes=["n"])
    def inc(state: State) -> State:
        return state.update(n=state["n"] + 1)

    builder = (
        ApplicationBuilder()
        .with_actions(inc=inc)
        .with_transitions(("inc", "inc", default))
        .with_state(n=0)
        .with_entrypoint("inc")
    )
    if by_hand:
        builder = builder.with_hooks(ObsHooks(name="matrix"))
    app = builder.build()
    capture.clear()
    app.run(halt_after=["inc"])
    # The call span is named after the application (by hand) or generically (automatic).
    return [
        n.split(" ")[0] if n.startswith("invoke_workflow") else n
        for n in _obs_spans(capture, "obs.burr")
    ]


BURR = Host(
    "burr",
    "obs_burr._integration:BurrIntegration",
    (("burr.core.application", "ApplicationBuilder", "_build_common"),),
    _burr,
    ("step inc", "invoke_workflow"),
)

# -- httpx (a real request to a uvicorn server on loopback, started once) -------------------
_servers: list[Any] = []


def _server_url() -> str:
    if not _servers:
        from starlette.applications import Starlette
        from starlette.responses import PlainTextResponse
        from starlette.routing import Route

        from tests.fastapi.conftest import Server

        async def ok(request: Any) -> PlainTextResponse:
            return PlainTextResponse("ok")

        server = Server(Starlette(routes=[Route("/ok", ok)]))
        server.__enter__()  # stopped by stop_servers() (tests/architecture/conftest.py)
        _servers.append(server)
    return str(_servers[0].url)


def stop_servers() -> None:
    while _servers:
        _servers.pop().__exit__(None, None, None)


def _httpx(capture: Capture, by_hand: bool) -> list[str]:
    import obs_httpx

    url = _server_url()
    transport = obs_httpx.ObsTransport() if by_hand else None
    capture.clear()
    with httpx.Client(transport=transport) as client:
        assert client.get(f"{url}/ok").text == "ok"
    return _obs_spans(capture, "obs.httpx")


HTTPX = Host(
    "httpx",
    "obs_httpx._integration:HttpxIntegration",
    (
        ("httpx", "HTTPTransport", "handle_request"),
        ("httpx", "AsyncHTTPTransport", "handle_async_request"),
    ),
    _httpx,
    ("GET",),
)

HOSTS = (FASTAPI, FASTSTREAM, OPENAI, BURR, HTTPX)
