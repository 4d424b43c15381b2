"""The stand-in itself: runnable as a real loopback server (``python -m obs_openai.testing``)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import openai

from obs.testing import Capture


def test_runs_as_a_server_process(obs_capture: Capture) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "obs_openai.testing", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        base_url = line.strip().rsplit(" ", 1)[-1]
        assert base_url.startswith("http://127.0.0.1:")
        client = openai.OpenAI(base_url=base_url, api_key="sk-test", max_retries=0)
        reply = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
        assert reply.choices[0].message.content
        client.close()
    finally:
        process.terminate()
        process.wait(5)
        if process.stdout is not None:
            process.stdout.close()


def test_serves_every_documented_route(obs_capture: Capture, server: Any) -> None:
    client = openai.OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0)
    chunks = list(
        client.chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert chunks[-1].usage is not None
    assert chunks[-1].choices == []
    assert client.responses.create(model="m", input="hi").output_text
    assert [e.type for e in client.responses.create(model="m", input="hi", stream=True)][-1] == (
        "response.completed"
    )
    assert len(client.embeddings.create(model="e", input=["a", "b"]).data) == 2
    assert client.completions.create(model="i", prompt="p").choices[0].text
    client.close()
