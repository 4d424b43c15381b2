"""A local OpenAI-compatible stand-in: tests, benchmarks and examples run without the network.

It answers ``POST /v1/chat/completions`` (JSON, and SSE with a usage chunk when
``stream_options={"include_usage": True}``), ``/v1/responses`` (JSON and the typed SSE events),
``/v1/embeddings`` (float or base64) and ``/v1/completions`` in OpenAI's documented wire
formats, deterministically. Two ways to run it:

In process, as an httpx transport (no socket)::

    from obs_openai.testing import stand_in_client
    client = stand_in_client()                   # an openai.OpenAI wired to the stand-in
    client = stand_in_client(async_=True)        # an openai.AsyncOpenAI

As a real HTTP server on loopback::

    from obs_openai.testing import StandInServer
    with StandInServer() as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="sk-test")

or from a shell: ``python -m obs_openai.testing --port 8765``.

Scenarios (errors, cut streams, delays, token details) are chosen per request with
``x-stand-in-*`` headers passed as ``extra_headers=``; see :mod:`obs_openai.testing._wire`.
"""

from __future__ import annotations

from typing import Any

from obs_openai.testing._server import StandInServer
from obs_openai.testing._transport import httpx_module, make_transport
from obs_openai.testing._wire import DEFAULT_CHUNKS, MODEL_SUFFIX, REPLY_TEXT, Reply, respond

#: The base URL the in-process clients use (never resolved: the transport answers).
STAND_IN_BASE_URL = "http://stand-in.openai.local/v1"


def stand_in_client(*, async_: bool = False, azure: bool = False, **options: Any) -> Any:
    """An ``openai.OpenAI`` (or ``AsyncOpenAI``; ``azure=True``: the Azure client) whose
    requests are answered in process by the stand-in. ``options`` go to the client."""
    import openai

    httpx = httpx_module()
    transport = make_transport()
    http_client = (
        httpx.AsyncClient(transport=transport) if async_ else httpx.Client(transport=transport)
    )
    options.setdefault("api_key", "sk-stand-in-key-0123456789abcdef")
    options.setdefault("http_client", http_client)
    cls: type[Any]
    if azure:
        options.setdefault("api_version", "2024-10-21")
        options.setdefault("azure_endpoint", "https://stand-in.openai.azure.com")
        cls = openai.AsyncAzureOpenAI if async_ else openai.AzureOpenAI
    else:
        options.setdefault("base_url", STAND_IN_BASE_URL)
        cls = openai.AsyncOpenAI if async_ else openai.OpenAI
    return cls(**options)


__all__ = [
    "DEFAULT_CHUNKS",
    "MODEL_SUFFIX",
    "REPLY_TEXT",
    "STAND_IN_BASE_URL",
    "Reply",
    "StandInServer",
    "make_transport",
    "respond",
    "stand_in_client",
]
