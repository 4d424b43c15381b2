"""API errors, timeouts and connection errors: recorded on the span, re-raised unchanged."""

from __future__ import annotations

import socket
from typing import Any

import openai
import pytest
from opentelemetry.trace import StatusCode

from obs.testing import Capture
from obs_openai.testing import stand_in_client

from .conftest import MESSAGES


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, openai.BadRequestError),
        (404, openai.NotFoundError),
        (429, openai.RateLimitError),
        (500, openai.InternalServerError),
        (503, openai.InternalServerError),
    ],
)
def test_status_errors(instrumented: Capture, client: Any, status: int, error: type) -> None:
    with pytest.raises(error) as raised:
        client.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, extra_headers={"x-stand-in-status": str(status)}
        )
    assert raised.value.status_code == status
    span = instrumented.one("chat gpt-4o-mini")
    attrs = dict(span.attributes or {})
    assert span.status.status_code is StatusCode.ERROR
    assert attrs["error.type"] == f"openai.{error.__name__}"
    assert attrs["http.response.status_code"] == status
    [event] = span.events
    assert event.name == "exception"
    assert (event.attributes or {})["exception.type"].endswith(error.__name__)
    [duration] = instrumented.metrics()["gen_ai.client.inference.duration"]
    assert duration.attributes["error.type"] == f"openai.{error.__name__}"


def test_retries_happen_inside_one_span(instrumented: Capture) -> None:
    retrying = stand_in_client(max_retries=2)
    with pytest.raises(openai.RateLimitError):
        retrying.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, extra_headers={"x-stand-in-status": "429"}
        )
    assert len(instrumented.find("chat gpt-4o-mini")) == 1


def test_the_api_key_never_reaches_telemetry(instrumented: Capture, client: Any) -> None:
    key = client.api_key
    with pytest.raises(openai.AuthenticationError) as raised:
        client.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, extra_headers={"x-stand-in-status": "401"}
        )
    assert key in str(raised.value)  # the server echoed it; the user's exception is unchanged
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    instrumented.configure(capture_content=True)
    list(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
    dump = []
    for span in instrumented.spans:
        dump.append(str(span.name))
        dump.append(str(dict(span.attributes or {})))
        dump.append(str(span.status.description))
        dump.extend(str(dict(e.attributes or {})) for e in span.events)
    dump.append(str(instrumented.metrics()))
    text = "\n".join(dump)
    assert key not in text
    assert "sk-stand-in-key" not in text
    assert "[scrubbed" in text  # the echoed key was replaced


def test_timeout(instrumented: Capture, client: Any) -> None:
    with pytest.raises(openai.APITimeoutError):
        client.with_options(timeout=0.5).chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, extra_headers={"x-stand-in-delay": "5"}
        )
    span = instrumented.one("chat gpt-4o-mini")
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == "openai.APITimeoutError"


def test_timeout_over_real_http(instrumented: Capture, server: Any) -> None:
    real = openai.OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0, timeout=0.1)
    with pytest.raises(openai.APITimeoutError):
        real.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, extra_headers={"x-stand-in-delay": "0.3"}
        )
    assert (instrumented.one("chat gpt-4o-mini").attributes or {})["error.type"] == (
        "openai.APITimeoutError"
    )
    real.close()


def test_connection_error_over_real_http(instrumented: Capture) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    down = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="sk-test", max_retries=0)
    with pytest.raises(openai.APIConnectionError):
        down.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    span = instrumented.one("chat gpt-4o-mini")
    assert (span.attributes or {})["error.type"] == "openai.APIConnectionError"
    assert (span.attributes or {})["server.port"] == port


def test_connection_error_in_process(instrumented: Capture, client: Any) -> None:
    with pytest.raises(openai.APIConnectionError):
        client.embeddings.create(
            model="e", input="x", extra_headers={"x-stand-in-connect-error": "1"}
        )
    assert instrumented.one("embeddings e").status.status_code is StatusCode.ERROR


async def test_async_errors(instrumented: Capture, async_client: Any) -> None:
    with pytest.raises(openai.RateLimitError):
        await async_client.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, extra_headers={"x-stand-in-status": "429"}
        )
    with pytest.raises(openai.APITimeoutError):
        await async_client.with_options(timeout=0.5).responses.create(
            model="gpt-4o-mini", input="hi", extra_headers={"x-stand-in-delay": "5"}
        )
    errors = [(s.attributes or {})["error.type"] for s in instrumented.find("chat gpt-4o-mini")]
    assert errors == ["openai.RateLimitError", "openai.APITimeoutError"]


async def test_async_error_over_real_http(instrumented: Capture, server: Any) -> None:
    real = openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0)
    with pytest.raises(openai.InternalServerError):
        await real.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, extra_headers={"x-stand-in-status": "500"}
        )
    assert instrumented.one("chat gpt-4o-mini").status.status_code is StatusCode.ERROR
    await real.close()


def test_a_401_message_reads_whole(instrumented: Capture, client: Any) -> None:
    """The scrubber removes the key the 401 names, not the words of the message around it."""
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, extra_headers={"x-stand-in-status": "401"}
        )
    span = instrumented.one("chat gpt-4o-mini")
    description = span.status.description or ""
    assert description.startswith("AuthenticationError: Error code: 401"), description
    assert "Incorrect API key provided" in description
    [event] = span.events
    message = str((event.attributes or {})["exception.message"])
    assert message.startswith("Error code: 401"), message
