"""OpenAI client: ``chat.completions.create`` against an in-process transport, every tool in one run.

Two groups, each with its own bare baseline:

- ``openai``: a non-streamed call;
- ``openai sse``: a streamed call of 20 content chunks plus the usage chunk, fully iterated.

Cases: the bare client (baseline), obs-openai, OpenTelemetry's openai-v2, Logfire
(``instrument_openai`` on a local Logfire instance exporting to the same null sink) and
OpenLLMetry (``opentelemetry-instrumentation-openai``). The transport replays one canned answer
(produced once by ``obs_openai.testing``), so the baseline is the client's own cost and the
differences are the instrumentations'. Tools that patch the client globally are switched on
before each of their rounds and off before anyone else's.

    uv run python -m benchmarks.run openai --rounds 7
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from benchmarks._harness import (
    SDK_SPAN_CASE,
    Group,
    Result,
    interleaved,
    local_logfire,
    paired_note,
    plain_provider,
    sdk_spans,
    use_obs,
    use_plain,
)
from obs import _config

OPS = 300
STREAM_OPS = 80
CHUNKS = 20
MESSAGES = [{"role": "user", "content": "Say hello to the benchmark"}]


def _transport(headers: dict[str, str], body: dict[str, Any]) -> Any:
    """An httpx transport replaying the stand-in's answer to one request, prepared once."""
    from obs_openai.testing import respond
    from obs_openai.testing._transport import _body_class, httpx_module

    httpx = httpx_module()
    reply = respond("POST", "/v1/chat/completions", headers, json.dumps(body).encode())
    body_class = _body_class(httpx)
    header_list = list(reply.headers.items())

    class Replay(httpx.BaseTransport):  # type: ignore[misc,name-defined]
        def handle_request(self, request: Any) -> Any:
            request.read()
            return httpx.Response(
                reply.status, headers=header_list, stream=body_class(reply), request=request
            )

    return Replay()


def _client(stream: bool) -> Any:
    import openai

    from obs_openai.testing._transport import httpx_module

    body: dict[str, Any] = {"model": "gpt-4o-mini", "messages": MESSAGES}
    headers = {}
    if stream:
        body.update(stream=True, stream_options={"include_usage": True})
        headers["x-stand-in-chunks"] = str(CHUNKS)
    http_client = httpx_module().Client(transport=_transport(headers, body))
    return openai.OpenAI(
        api_key="sk-bench", base_url="http://bench.local/v1", http_client=http_client, max_retries=0
    )


def _driver(client: Any, stream: bool, ops: int) -> Callable[[], None]:
    # ``client.chat.completions.create`` is looked up on every call: OpenLLMetry and openai-v2
    # patch the resource class, which a method bound once, before they switch on, would miss.
    completions = client.chat.completions
    if not stream:

        def run() -> None:
            for _ in range(ops):
                completions.create(model="gpt-4o-mini", messages=MESSAGES, temperature=0.2)

        return run

    expected = CHUNKS + 3  # role, 20 contents, finish, usage

    def run_stream() -> None:
        for _ in range(ops):
            count = 0
            for _chunk in completions.create(
                model="gpt-4o-mini",
                messages=MESSAGES,
                stream=True,
                stream_options={"include_usage": True},
            ):
                count += 1
            assert count == expected, count

    return run_stream


def _obs_pipeline() -> None:
    """Point the global provider back at obs's pipeline, configured once by ``bench``.

    Reconfiguring obs before every round (``use_obs``) would start a new batch-export thread
    each time, a cost the other cases do not pay.
    """
    proxy, provider = _config._state.tracer_proxy, _config._state.tracer_provider
    assert proxy is not None
    assert provider is not None
    proxy.swap(provider)


class _Switch:
    """Which global patcher is on; ``to(name)`` turns the others off first."""

    def __init__(self) -> None:
        self.active: str | None = None
        self.instrumentors: dict[str, Any] = {}
        self.notes: dict[str, str] = {}
        self.originals: list[tuple[type, dict[str, Any]]] = []

    def load(self) -> None:
        try:
            from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor as V2

            self.instrumentors["openai-v2"] = V2()
        except Exception as exc:
            self.notes["openai-v2"] = f"not installable: {type(exc).__name__}: {exc}"
        try:
            from opentelemetry.instrumentation.openai import OpenAIInstrumentor as Llmetry

            self.instrumentors["openllmetry"] = Llmetry()
        except Exception as exc:
            self.notes["openllmetry"] = f"not installable: {type(exc).__name__}: {exc}"

    @staticmethod
    def _resource_classes() -> list[type]:
        from openai.resources import completions, embeddings
        from openai.resources.chat.completions import completions as chat
        from openai.resources.responses import responses

        return [
            chat.Completions,
            chat.AsyncCompletions,
            completions.Completions,
            completions.AsyncCompletions,
            embeddings.Embeddings,
            embeddings.AsyncEmbeddings,
            responses.Responses,
            responses.AsyncResponses,
        ]

    def to(self, name: str | None) -> None:
        import obs_openai

        if self.active == name:
            return
        if self.active == "obs":
            obs_openai.uninstrument_openai()
        elif self.active in self.instrumentors:
            self.instrumentors[self.active].uninstrument()
            # OpenLLMetry's uninstrument leaves its wrappers on openai 3.x (it unwraps through
            # module paths that re-export the classes), so every instrument() would stack one
            # more: put the classes back as they were before it switched on.
            for cls, saved in self.originals:
                for attr, value in saved.items():
                    if cls.__dict__.get(attr) is not value:
                        setattr(cls, attr, value)
        self.active = None
        if name == "obs":
            _obs_pipeline()
            obs_openai.instrument_openai()
        else:
            use_plain()
            if name in self.instrumentors:
                self.originals = [
                    (cls, {k: v for k, v in vars(cls).items() if callable(v)})
                    for cls in self._resource_classes()
                ]
                self.instrumentors[name].instrument(
                    tracer_provider=plain_provider(), skip_dep_check=True
                )
        self.active = name


def _logfire(client: Any) -> Any:
    local_logfire().instrument_openai(client)
    return client


def _group(name: str, stream: bool, rounds: int, switch: _Switch) -> Group:
    ops = STREAM_OPS if stream else OPS
    clients = {
        "openai bare client": _client(stream),
        "obs-openai": _client(stream),
        "opentelemetry openai-v2": _client(stream),
        "logfire": _logfire(_client(stream)),
        "openllmetry (traceloop)": _client(stream),
    }
    owners: dict[str, str | None] = {
        "openai bare client": None,
        "obs-openai": "obs",
        "opentelemetry openai-v2": "openai-v2",
        "logfire": None,
        "openllmetry (traceloop)": "openllmetry",
    }
    if "openai-v2" not in switch.instrumentors:
        clients.pop("opentelemetry openai-v2")
    # The reference span in the same rounds: each row's overhead paired per round.
    cases: dict[str, Callable[[], None]] = {SDK_SPAN_CASE: sdk_spans(ops)}
    cases.update({n: _driver(c, stream, ops) for n, c in clients.items()})
    before = {n: (lambda owner=owners[n]: switch.to(owner)) for n in clients}
    samples = interleaved(cases, ops, rounds, before=before)
    switch.to(None)
    use_obs()
    span_round = samples.pop(SDK_SPAN_CASE)
    group = Group(name, "call")
    for case, values in samples.items():
        bare = case == "openai bare client"
        note = "" if bare else paired_note(values, samples["openai bare client"], span_round)
        group.results.append(
            Result(name, case, values, "0" if bare else "1", baseline=bare, note=note)
        )
    if "openai-v2" in switch.notes:
        group.results.append(
            Result(name, "opentelemetry openai-v2", [0.0], "", note=switch.notes["openai-v2"])
        )
    return group


def bench(rounds: int, sdk_span: Result) -> list[Group]:
    logging.getLogger("opentelemetry").setLevel(logging.ERROR)
    use_obs()
    switch = _Switch()
    switch.load()
    try:
        return [
            _group("openai", False, rounds, switch),
            _group("openai sse", True, rounds, switch),
        ]
    finally:
        switch.to(None)
        use_obs()
