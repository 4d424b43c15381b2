"""``instrument=True`` imports a host only when the application imports it."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import entry_points

PROGRAM = """
import sys, obs
handle = obs.configure(instrument=True, store=False, console=False)
print("instrumented", ",".join(sorted(handle.instrumented)))
hosts = ("fastapi", "starlette", "faststream", "openai", "burr", "httpx")
print("imported", ",".join(m for m in hosts if m in sys.modules) or "none")

from fastapi import FastAPI
import obs_fastapi
print("app", obs_fastapi.is_instrumented(FastAPI()))
from faststream.redis import RedisBroker
print("broker", [type(m).__name__ for m in RedisBroker().middlewares])
"""


def test_configure_imports_no_host_and_instruments_on_import() -> None:
    env = {**os.environ, "OBS_STORE": "off"}
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    installed = sorted(ep.name for ep in entry_points(group="obs.integrations"))
    assert f"instrumented {','.join(installed)}" in lines
    assert "imported none" in lines
    assert "app True" in lines
    assert "broker ['RedisTelemetryMiddleware']" in lines
