"""Every channel through the scrubber, through the real hosts: templates, 422s, metrics, obs's
own lines, and strings no exporter can encode.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from faststream.redis import RedisBroker
from pydantic import BaseModel, Field, SecretStr

import obs
import obs_fastapi
from obs.testing.otlp import OTLPReceiver
from obs_faststream.redis import RedisTelemetryMiddleware
from tests.conftest import require_service
from tests.fastapi.conftest import client
from tests.faststream.conftest import settle, unique, wait

# A module global: a template reaching ``__globals__`` would print it.
WELCOME_NOTE = "GlobalsReached4Vx9"
TEMPLATE_PASSWORD = "TemplatePw8Kq2Zr"
TEMPLATE_CRED = "TemplateCred3Lm7Wn"


class User:
    name = "ada"
    password = TEMPLATE_PASSWORD

    def __str__(self) -> str:
        return self.name


def template_app() -> FastAPI:
    app = FastAPI()

    @app.get("/greet")
    async def greet(template: str) -> dict[str, bool]:
        # A template built from user input: the worst a careless app can do with obs.info.
        obs.info(template, user=User(), creds={"password": TEMPLATE_CRED}, n=3)
        return {"ok": True}

    obs_fastapi.instrument_app(app)
    return app


async def test_templates_from_user_input_reach_no_unscrubbed_value(obs_capture: Any) -> None:
    templates = [
        "hello {user.password}",
        "hello {creds[password]}",
        "hello {user.__init__.__globals__}",
        "hello {user.__class__.__init__.__globals__[WELCOME_NOTE]}",
        "hello {n:>5000000}",
        "hello {n:{n}}",
        "hello {user} {n!r:>4}",
    ]
    started = time.perf_counter()
    async with client(template_app()) as c:
        for template in templates:
            assert (await c.get("/greet", params={"template": template})).status_code == 200
    assert time.perf_counter() - started < 5  # a template cannot make obs allocate megabytes
    logs = obs_capture.logs()
    assert len(logs) == len(templates)
    everything = repr([dict(s.attributes or {}) for s in obs_capture.spans])
    for secret in (TEMPLATE_PASSWORD, TEMPLATE_CRED, WELCOME_NOTE):
        assert secret not in everything
    messages = {s.attributes["obs.msg_template"]: s.attributes["obs.msg"] for s in logs}
    assert messages["hello {user.password}"] == "hello {user.password}"  # rendered literally
    assert messages["hello {creds[password]}"] == "hello {creds[password]}"
    assert len(messages["hello {n:>5000000}"]) < 100
    assert messages["hello {user} {n!r:>4}"] == "hello ada    3"


class Account(BaseModel):
    user: str
    new_pw: str = Field(min_length=16)
    pin: SecretStr = Field(min_length=8)


async def test_422_never_echoes_what_the_client_sent(obs_capture: Any) -> None:
    app = FastAPI()

    @app.post("/accounts")
    async def create(account: Account) -> dict[str, bool]:
        return {"ok": True}

    obs_fastapi.instrument_app(app, capture_validation_errors=True)
    async with client(app) as c:
        response = await c.post(
            "/accounts", json={"user": "ada", "new_pw": "ShortPw9x", "pin": "Pin42x"}
        )
        missing = await c.post("/accounts", json={"new_pw": "WholeBodyPw7Hj3Kd9Lm"})
    assert response.status_code == 422
    assert missing.status_code == 422
    first, second = obs_capture.spans
    text = (
        first.attributes["fastapi.validation.errors"]
        + second.attributes["fastapi.validation.errors"]
    )
    for secret in ("ShortPw9x", "Pin42x", "WholeBodyPw7Hj3Kd9Lm"):
        assert secret not in text
    errors = json.loads(first.attributes["fastapi.validation.errors"])
    assert [e["loc"] for e in errors] == [["body", "new_pw"], ["body", "pin"]]
    assert errors[0]["input"] == "<str, 9 chars>"  # what was wrong is still said


async def test_metric_attributes_from_a_handler_never_reach_the_collector(
    obs_capture: Any,
) -> None:
    app = FastAPI()

    @app.post("/login")
    async def login() -> dict[str, bool]:
        obs.counter("logins").add(1, {"password": "MetricPw5Xc8", "result": "ok"})
        obs.histogram("login.ms").record(2.0, {"note": "api_key=MetricKey4Rt6"})
        return {"ok": True}

    with OTLPReceiver() as receiver:
        obs_capture.configure(otlp_endpoint=receiver.endpoint)
        obs_fastapi.instrument_app(app)
        async with client(app) as c:
            assert (await c.post("/login")).status_code == 200
        assert obs.force_flush()
        payloads = b"".join(receiver.raw("/v1/metrics"))
    assert b"logins" in payloads  # the metric was exported...
    assert b"MetricPw5Xc8" not in payloads  # ...without the secret
    assert b"MetricKey4Rt6" not in payloads


async def test_an_otlp_endpoint_password_is_never_printed_nor_a_metric_label(
    obs_capture: Any, caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG, logger="obs")
    app = FastAPI()

    @app.get("/ping")
    async def ping() -> dict[str, bool]:
        return {"ok": True}

    with OTLPReceiver(status=500) as receiver:
        endpoint = receiver.endpoint.replace("http://", "http://collector:EndpointPw6Tz@")
        obs_capture.configure(otlp_endpoint=endpoint)
        obs_fastapi.instrument_app(app)
        async with client(app) as c:
            await c.get("/ping")
        obs.force_flush(5000)
        await asyncio.sleep(0.1)
    assert "is failing" in caplog.text or "failed" in caplog.text  # obs did speak about it
    assert "EndpointPw6Tz" not in caplog.text
    labels = repr([p.attributes for p in obs_capture.metrics().get("obs.export.dropped_spans", [])])
    assert "obs.export.dropped_spans" in obs_capture.metrics()
    assert "EndpointPw6Tz" not in labels


# -- strings no exporter can encode --------------------------------------------------------------


def _rows(store: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(store) as db:
        return list(db.execute("SELECT name, attributes FROM spans"))


async def test_lone_surrogates_and_bad_bytes_from_http_never_fail_a_store_batch(
    obs_capture: Any, tmp_path: Path
) -> None:
    store = tmp_path / "spans.db"
    obs_capture.configure(store=str(store), capture_content=True)

    app = FastAPI()

    @app.post("/notes")
    async def notes(request: Request) -> dict[str, bool]:
        # What a handler does with a body: the stdlib decoder keeps lone surrogates, and
        # surrogateescape turns bytes that are not UTF-8 into them.
        raw = (await request.body()).decode("utf-8", "surrogateescape")
        note = json.loads(raw)["note"]
        obs.info("note {note}", note=note, raw=raw)
        return {"ok": True}

    obs_fastapi.instrument_app(app, capture_request_headers=True, capture_arguments=True)
    async with client(app) as c:
        for i in range(3):
            response = await c.post(
                "/notes",
                content=b'{"note": "lone \\ud800 and \xff\xfe ' + str(i).encode() + b'"}',
                headers={"content-type": "application/json", "x-raw": b"\xff\xfe\x80 bytes"},
            )
            assert response.status_code == 200
    assert obs.force_flush()
    rows = _rows(store)
    assert len([r for r in rows if r[0] == "POST /notes"]) == 3
    assert len([r for r in rows if r[0] == "note {note}"]) == 3


async def test_lone_surrogates_from_a_message_never_fail_a_store_batch(
    obs_capture: Any, tmp_path: Path
) -> None:
    require_service("redis")
    store = tmp_path / "spans.db"
    obs_capture.configure(store=str(store), capture_content=True)
    producer = RedisBroker("redis://127.0.0.1:6379", logger=None)
    broker = RedisBroker(
        "redis://127.0.0.1:6379", middlewares=[RedisTelemetryMiddleware()], logger=None
    )
    name = unique("trust-utf")
    done = asyncio.Event()
    got: list[Any] = []

    @broker.subscriber(list=name)
    async def handle(body: dict[str, str]) -> None:
        got.append(body)
        obs.info("got {text}", text=body["text"])
        done.set()

    async with producer, broker:
        await broker.start()
        await producer.publish(
            b'{"text": "bad \\udcff tail"}',
            list=name,
            headers={"content-type": "application/json"},
        )
        await wait(done)
        await settle(obs_capture, f"process {name}")
    assert got == [{"text": "bad \udcff tail"}]  # the host got exactly what was sent
    assert obs.force_flush()
    names = [r[0] for r in _rows(store)]
    assert f"process {name}" in names
    assert "got {text}" in names
