"""The app the end-to-end tests run on real uvicorn: FastAPI, configured the way the seed does.

``ALERTS_TEST_CONFIG`` (JSON) holds the keyword arguments for ``obs.configure`` (``alerts``,
``alert_channels``); the store is ``$OBS_STORE_PATH``.
"""

from __future__ import annotations

import json
import os

import obs

obs.configure(
    service_name="alerts-api",
    console=False,
    instrument=["fastapi"],
    resource_attributes={"process.pid": os.getpid()},  # which worker wrote a span
    **json.loads(os.environ.get("ALERTS_TEST_CONFIG") or "{}"),
)

from fastapi import FastAPI  # noqa: E402  (created after instrumentation, on purpose)

app = FastAPI()


@app.get("/ok")
async def ok() -> dict[str, bool]:
    return {"ok": True}


@app.get("/boom")
async def boom() -> None:
    raise RuntimeError("injected failure")


@app.get("/pid")
async def pid() -> dict[str, int]:
    return {"pid": os.getpid()}
