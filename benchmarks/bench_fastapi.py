"""FastAPI: one route ``GET /items/{item_id}?q=``, in-process ASGI, every tool in one run.

Cases (all on the same app shape; competitors on the plain pipeline, obs on its own):

- bare FastAPI, native telemetry off (the baseline);
- obs-fastapi (``instrument_app``; native telemetry switched off for the app by obs);
- obs-fastapi with FastAPI's operation spans (``operation_spans=True``);
- FastAPI native telemetry as shipped (server span + 3 operation spans + metrics);
- FastAPI native, server span only (operation spans, metrics and logs off);
- Starlette's experimental ``OpenTelemetryMiddleware``;
- OpenTelemetry contrib (``FastAPIInstrumentor.instrument_app``);
- Logfire (``instrument_fastapi``, a local Logfire instance exporting to the same null sink).

    uv run python -m benchmarks.run fastapi --rounds 7
    uv run python -m benchmarks.bench_fastapi --memory 100000   # memory over N requests
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import tracemalloc
from collections.abc import Callable
from typing import Any

from benchmarks._harness import (
    SDK_SPAN_CASE,
    Group,
    Result,
    bare_span_cost,
    interleaved,
    local_logfire,
    paired_note,
    sdk_spans,
    use_obs,
    use_plain,
)

OPS = 2_000
_OFF = {"tracing": False, "metrics": False, "logs": False}

Scope = dict[str, Any]


def make_app(**telemetry: Any) -> Any:
    from fastapi import FastAPI

    app = FastAPI(telemetry=telemetry or None, openapi_url=None)

    @app.get("/items/{item_id}")
    async def read_item(item_id: int, q: str | None = None) -> dict[str, Any]:
        return {"item_id": item_id, "q": q}

    return app


_HEADERS = [
    (b"host", b"testserver"),
    (b"user-agent", b"bench/1.0"),
    (b"accept", b"application/json"),
]


def _scope() -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/items/42",
        "raw_path": b"/items/42",
        "query_string": b"q=hello",
        "root_path": "",
        "headers": list(_HEADERS),
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


def driver(app: Any, ops: int = OPS) -> Callable[[], None]:
    """Runs ``ops`` requests through the ASGI app on one event loop; checks the status."""
    loop = asyncio.new_event_loop()
    statuses: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    async def many() -> None:
        for _ in range(ops):
            await app(_scope(), _receive, send)

    def run() -> None:
        statuses.clear()
        loop.run_until_complete(many())
        assert statuses == [200] * ops, statuses[:3]

    return run


def _contrib_app() -> Any:
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    app = make_app(**_OFF)
    FastAPIInstrumentor.instrument_app(app)
    return app


def _starlette_app() -> Any:
    from starlette.middleware.opentelemetry import OpenTelemetryMiddleware

    app = make_app(**_OFF)
    app.add_middleware(OpenTelemetryMiddleware)
    return app


def _logfire_app() -> Any:
    app = make_app(**_OFF)
    local_logfire().instrument_fastapi(app)
    return app


def _obs_app(**options: Any) -> Any:
    import obs_fastapi

    app = make_app()  # native telemetry as shipped: obs switches it off for this app
    obs_fastapi.instrument_app(app, **options)
    return app


def _use_obs() -> None:
    # The obs pipeline as a service runs it, minus the local SQLite store (on by default when
    # OTLP is off): its writer thread would compete for the GIL and measure SQLite, not obs.
    use_obs(store=False)


_FLOOR_START = {
    "http.request.method": "GET",
    "url.scheme": "http",
    "url.path": "/items/42",
    "url.query": "q=hello",
    "network.protocol.version": "1.1",
    "server.address": "testserver",
    "server.port": 80,
    "client.address": "127.0.0.1",
    "user_agent.original": "bench/1.0",
}
_FLOOR_END = {
    "http.response.status_code": 200,
    "http.route": "/items/{item_id}",
    "fastapi.route.name": "read_item",
    "code.function.name": "benchmarks.bench_fastapi.make_app.<locals>.read_item",
}


def _floor_app() -> Any:
    """The floor: the same span obs-fastapi writes (same attributes, current during the
    request), from constants, with none of the HTTP logic. What is left between this and
    obs-fastapi is the middleware's own work."""
    from opentelemetry import context, trace
    from opentelemetry.trace import SpanKind

    inner = make_app(**_OFF)
    tracer = trace.get_tracer("floor")

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        span = tracer.start_span("GET", None, SpanKind.SERVER, dict(_FLOOR_START))
        token = context.attach(trace.set_span_in_context(span))
        try:
            await inner(scope, receive, send)
        finally:
            span.update_name("GET /items/{item_id}")
            span.set_attributes(_FLOOR_END)
            span.end()
            context.detach(token)

    return app


def bench(rounds: int, sdk_span: Result) -> list[Group]:
    _use_obs()
    apps: dict[str, tuple[Any, Callable[[], None], str]] = {
        "fastapi bare (native telemetry off)": (make_app(**_OFF), use_plain, "0"),
        "obs-fastapi": (_obs_app(), _use_obs, "1"),
        "obs-fastapi, operation_spans=True": (_obs_app(operation_spans=True), _use_obs, "4"),
        "floor: the same span by hand, no HTTP logic (obs)": (_floor_app(), _use_obs, "1"),
        "fastapi native telemetry, as shipped": (make_app(), use_plain, "4"),
        "fastapi native, server span only": (
            make_app(operation_spans=False, metrics=False, logs=False),
            use_plain,
            "1",
        ),
        "starlette OpenTelemetryMiddleware": (_starlette_app(), use_plain, "1"),
        "opentelemetry contrib": (_contrib_app(), use_plain, "3"),
        "logfire": (_logfire_app(), use_plain, "3"),
    }
    # The reference span is measured among the cases, round by round: each row's note gives
    # its overhead paired with the bare app and the span of the same round.
    cases: dict[str, Callable[[], None]] = {SDK_SPAN_CASE: sdk_spans(OPS)}
    cases.update({name: driver(app) for name, (app, _, _) in apps.items()})
    before = {name: switch for name, (_, switch, _) in apps.items()}
    samples = interleaved(cases, OPS, rounds, before=before)
    _use_obs()
    span_round = samples.pop(SDK_SPAN_CASE)
    bare_name = next(name for name in samples if name.startswith("fastapi bare"))
    group = Group("fastapi", "request")
    for name, values in samples.items():
        baseline = name == bare_name
        group.results.append(
            Result(
                "fastapi",
                name,
                values,
                apps[name][2],
                baseline=baseline,
                note="" if baseline else paired_note(values, samples[bare_name], span_round),
            )
        )
    return [group]


def memory(requests: int) -> None:
    """Traced memory every 10k requests through obs-fastapi (after a warm-up): flat or not."""
    import obs

    _use_obs()
    app = _obs_app()
    run: Callable[[], None] = driver(app, 10_000)
    run()  # warm-up: caches filled, batch queue at its steady state
    obs.force_flush()
    gc.collect()
    tracemalloc.start()
    points = []
    for _ in range(max(1, requests // 10_000)):
        run()
        obs.force_flush()  # what is queued for export is not growth
        gc.collect()
        points.append(tracemalloc.get_traced_memory()[0] / 1024)
    tracemalloc.stop()
    print(
        f"obs-fastapi: {requests} requests, traced memory every 10k (KiB): "
        + ", ".join(f"{p:.0f}" for p in points)
        + f"; first->last {points[-1] - points[0]:+.0f} KiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--memory", type=int, default=0, help="requests for the memory check")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if args.memory:
        memory(args.memory)
        return
    from benchmarks.run import format_table

    sdk = Result("core", "sdk span (plain)", bare_span_cost(args.rounds), "1")
    print(format_table(bench(args.rounds, sdk), sdk))


if __name__ == "__main__":
    main()
