"""An unchanged program is instrumented by `obs run` and by `opentelemetry-instrument`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent

PROGRAM = """
from fastapi import FastAPI
from faststream.redis import RedisBroker
import obs_fastapi
from obs_fastapi import FastAPIIntegration
from obs_faststream import FastStreamIntegration

app = FastAPI()
broker = RedisBroker()
kinds = [type(m).__name__ for m in broker.middlewares]
print("fastapi", FastAPIIntegration().is_instrumented, obs_fastapi.is_instrumented(app))
print("faststream", FastStreamIntegration().is_instrumented, "RedisTelemetryMiddleware" in kinds)

# However the integrations were switched on, obs.uninstrument() restores the hosts exactly.
import inspect, obs
from faststream._internal.broker.broker import BrokerUsecase
obs.uninstrument()
plain = [inspect.isfunction(vars(c)["__init__"]) for c in (FastAPI, BrokerUsecase)]
print("restored", all(plain), obs_fastapi.is_instrumented(FastAPI()))
"""


@pytest.mark.parametrize(
    "launcher",
    [
        ["obs", "run", "--"],
        ["opentelemetry-instrument"],
    ],
)
def test_unchanged_program_is_instrumented(tmp_path, launcher):
    program = tmp_path / "program.py"
    program.write_text(PROGRAM)
    env = {
        **os.environ,
        "OBS_STORE": "off",
        "OBS_CONSOLE": "false",
        # contrib's own instrumentors are installed for the benchmarks: keep them out
        "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "fastapi,openai,openai_v2,asgi",
        "OTEL_TRACES_EXPORTER": "none",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
    }
    command = [str(BIN / launcher[0]), *launcher[1:], sys.executable, str(program)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "fastapi True True" in result.stdout
    assert "faststream True True" in result.stdout
    assert "restored True False" in result.stdout
