"""httpx: cost per request, bare vs obs-httpx vs OpenTelemetry contrib vs Logfire, one run.

Every case sends ``GET`` through an ``httpx.Client`` on the default ``HTTPTransport`` (the
layer all three tools wrap), whose connection pool is replaced by one that answers at once in
process: no socket and no server, so the baseline is httpx's own cost and the differences are
the instrumentations'. Each case records one CLIENT span per request with the HTTP
conventions' attributes, injects trace context and records ``http.client.request.duration``
(contrib and Logfire on the plain pipeline, obs on its own, scrubbing included). Tools that
patch the transport class globally are switched on before each of their rounds and off before
anyone else's; Logfire instruments its own client.

    uv run python -m benchmarks.run httpx --rounds 7
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from benchmarks._harness import (
    Group,
    Result,
    interleaved,
    local_logfire,
    plain_provider,
    use_obs,
    use_plain,
)
from obs import _config

OPS = 1_000
URL = "http://bench.local:8080/items?page=2"


class _AnsweringPool:
    """Stands in for httpcore's connection pool: every request answered at once, 200 "ok"."""

    def handle_request(self, request: Any) -> Any:
        import httpcore

        return httpcore.Response(
            200,
            headers=[(b"content-type", b"text/plain"), (b"content-length", b"2")],
            content=b"ok",
            extensions={"http_version": b"HTTP/1.1"},
        )

    def close(self) -> None:
        pass


def _client() -> Any:
    import httpx

    transport = httpx.HTTPTransport()
    transport._pool = _AnsweringPool()  # type: ignore[assignment]
    return httpx.Client(transport=transport)


def _driver(client: Any) -> Callable[[], None]:
    def run() -> None:
        for _ in range(OPS):
            response = client.get(URL)
            assert response.status_code == 200

    return run


def _obs_pipeline() -> None:
    proxy, provider = _config._state.tracer_proxy, _config._state.tracer_provider
    assert proxy is not None
    assert provider is not None
    proxy.swap(provider)


class _Switch:
    """Which global patcher is on; ``to(name)`` turns the others off first."""

    def __init__(self) -> None:
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        self.active: str | None = None
        self.contrib = HTTPXClientInstrumentor()

    def to(self, name: str | None) -> None:
        import obs_httpx

        if self.active == name:
            return
        if self.active == "obs":
            obs_httpx.uninstrument_httpx()
        elif self.active == "contrib":
            self.contrib.uninstrument()
        self.active = None
        if name == "obs":
            _obs_pipeline()
            obs_httpx.instrument_httpx()
        else:
            use_plain()
            if name == "contrib":
                self.contrib.instrument(tracer_provider=plain_provider())
        self.active = name


def bench(rounds: int, sdk_span: Result) -> list[Group]:
    logging.getLogger("opentelemetry").setLevel(logging.ERROR)
    use_obs()
    switch = _Switch()
    logfire_client = _client()
    local_logfire().instrument_httpx(logfire_client)
    clients = {
        "httpx bare (in-process pool)": _client(),
        "obs-httpx": _client(),
        "opentelemetry contrib httpx": _client(),
        "logfire instrument_httpx": logfire_client,
    }
    owners: dict[str, str | None] = {
        "httpx bare (in-process pool)": None,
        "obs-httpx": "obs",
        "opentelemetry contrib httpx": "contrib",
        "logfire instrument_httpx": None,
    }
    cases = {name: _driver(client) for name, client in clients.items()}
    before = {name: (lambda owner=owners[name]: switch.to(owner)) for name in cases}
    try:
        samples = interleaved(cases, OPS, rounds, before=before)
    finally:
        switch.to(None)
        use_obs()
    group = Group("httpx", "request")
    for name, values in samples.items():
        bare = name.startswith("httpx bare")
        group.results.append(Result("httpx", name, values, "0" if bare else "1", baseline=bare))
    return [group]
