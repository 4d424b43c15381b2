"""The ``fastapi`` entry-point integration: every app created afterwards, undone cleanly."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI

import obs
import obs_fastapi
from tests.fastapi.conftest import build_app, client


def test_registered_under_the_entry_point(obs_capture: Any) -> None:
    names = {info.name: info for info in obs.integrations()}
    assert names["fastapi"].usable
    assert names["fastapi"].requirement == "fastapi>=0.115"


async def test_apps_created_after_instrument_are_instrumented(obs_capture: Any) -> None:
    original_init = FastAPI.__init__
    before = build_app()
    (info,) = obs.instrument("fastapi", excluded_urls="health")
    assert info.status == "instrumented"
    after = build_app()
    assert obs_fastapi.is_instrumented(after)
    assert obs_fastapi.is_instrumented(before)  # apps that already existed are adopted
    async with client(after) as c:
        await c.get("/items/1")
        await c.get("/health")
        await c.get("/tenants/a/things/b")  # the sub-app is instrumented too: still one span
    assert [s.name for s in obs_capture.spans] == [
        "GET /items/{item_id}",
        "GET /tenants/{tenant}/things/{thing_id}",
    ]

    obs.uninstrument("fastapi")
    assert FastAPI.__init__ is original_init
    assert not obs_fastapi.is_instrumented(after)
    assert not obs_fastapi.is_instrumented(before)
    assert after._telemetry["tracing"] is True
    obs_capture.clear()
    async with client(after) as c:
        await c.get("/items/1")
    assert {s.instrumentation_scope.name for s in obs_capture.spans} == {"fastapi"}


async def test_instrument_is_idempotent(obs_capture: Any) -> None:
    obs.instrument("fastapi")
    obs.instrument("fastapi")
    app = build_app()
    async with client(app) as c:
        await c.get("/items/1")
    assert len(obs_capture.spans) == 1


def test_bad_options_are_reported_not_raised_into_fastapi(obs_capture: Any) -> None:
    (info,) = obs.instrument("fastapi", no_such_option=1)
    assert info.status == "broken"
    assert FastAPI().title == "FastAPI"


async def test_configure_instrument_true(obs_capture: Any) -> None:
    obs_capture.configure(instrument={"fastapi": {"propagation": "ignore"}})
    app = build_app()
    async with client(app) as c:
        await c.get(
            "/items/1",
            headers={"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
        )
    assert obs_capture.one().parent is None


def test_module_does_not_import_the_host() -> None:
    import subprocess
    import sys

    code = (
        "import sys; import obs_fastapi._integration; "
        "print('fastapi' in sys.modules, 'starlette' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


@pytest.fixture(autouse=True)
def _uninstrument() -> Any:
    yield
    obs.uninstrument("fastapi")
