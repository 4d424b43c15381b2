"""Whole stack: saturated FastAPI requests with real OTLP/HTTP export to a loopback receiver.

Each tool runs under its own recommended set-up, every span exported over HTTP to a local
OTLP receiver (``obs.testing.otlp.OTLPReceiver``, in this process, on 127.0.0.1):

- obs-fastapi under ``obs.configure(otlp_endpoint=...)`` (lean spans, obs's OTLP encoder);
- the same with ``OBS_LEAN_SPANS=0 OBS_FAST_OTLP=0`` (SDK spans and the reference encoder:
  obs before the lean-span work), measured in its own phase beside contrib;
- OpenTelemetry contrib (``FastAPIInstrumentor.instrument_app``) on an SDK provider with a
  ``BatchSpanProcessor(OTLPSpanExporter)``;
- Starlette's ``OpenTelemetryMiddleware`` on the same SDK pipeline.

A round is ``OPS`` requests back to back through the ASGI app (in process) plus a flush of
every span to the receiver, so the export thread's encoding and HTTP work, which shares the
GIL with the requests, is inside the measured time. Reported: µs per request (wall clock,
median of interleaved rounds) and requests per second; ``vs obs`` is throughput relative to
obs-fastapi in the same phase.

    uv run python -m benchmarks.run stack --rounds 5
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

import obs
from benchmarks._harness import Group, Result
from benchmarks.bench_fastapi import _OFF, _contrib_app, _obs_app, _starlette_app, driver, make_app
from obs import _config
from obs.testing.otlp import OTLPReceiver

OPS = 2_000


def _sdk_pipeline(endpoint: str) -> TracerProvider:
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return provider


def _configure_obs(endpoint: str, lean: bool) -> Any:
    for name in ("OBS_LEAN_SPANS", "OBS_FAST_OTLP"):
        if lean:
            os.environ.pop(name, None)
        else:
            os.environ[name] = "0"
    try:
        return obs.configure(otlp_endpoint=endpoint, console=False, store=False)
    finally:
        for name in ("OBS_LEAN_SPANS", "OBS_FAST_OTLP"):
            os.environ.pop(name, None)


def _phase(
    cases: dict[str, tuple[Callable[[], None], Any]],
    receiver: OTLPReceiver,
    rounds: int,
) -> dict[str, list[float]]:
    """Interleaved rounds; each round points the global provider at the case's own."""
    proxy = _config._state.tracer_proxy
    assert proxy is not None
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for run, provider in cases.values():  # warm-up
        proxy.swap(provider)
        run()
        provider.force_flush()
    for _ in range(rounds):
        for name, (run, provider) in cases.items():
            proxy.swap(provider)
            receiver.requests.clear()
            start = time.perf_counter_ns()
            run()
            provider.force_flush()
            samples[name].append((time.perf_counter_ns() - start) / 1000 / OPS)
    return samples


def bench(rounds: int, sdk_span: Result) -> list[Group]:
    groups: list[Group] = []
    with OTLPReceiver() as receiver:
        endpoint = receiver.endpoint
        sdk = _sdk_pipeline(f"{endpoint}/v1/traces")
        lean_obs = _configure_obs(endpoint, lean=True).tracer_provider
        bare: Any = TracerProvider(shutdown_on_exit=False)  # nothing recorded or exported
        phase_a = {
            "fastapi bare (no telemetry)": (driver(make_app(**_OFF), OPS), bare),
            "obs-fastapi (lean spans, obs OTLP encoder)": (driver(_obs_app(), OPS), lean_obs),
            "contrib FastAPIInstrumentor + SDK OTLP": (driver(_contrib_app(), OPS), sdk),
            "starlette OpenTelemetryMiddleware + SDK OTLP": (
                driver(_starlette_app(), OPS),
                sdk,
            ),
        }
        samples = _phase(phase_a, receiver, rounds)
        groups.append(_group("stack", samples))
        sdk_obs = _configure_obs(endpoint, lean=False).tracer_provider
        phase_b = {
            "fastapi bare (no telemetry)": (driver(make_app(**_OFF), OPS), bare),
            "obs-fastapi on SDK spans + reference encoder": (driver(_obs_app(), OPS), sdk_obs),
            "contrib FastAPIInstrumentor + SDK OTLP": (driver(_contrib_app(), OPS), sdk),
        }
        groups.append(_group("stack-sdk", _phase(phase_b, receiver, rounds)))
        obs.shutdown()
        sdk.shutdown()
    return groups


def _group(name: str, samples: dict[str, list[float]]) -> Group:
    group = Group(name, "request")
    medians = {case: sorted(v)[len(v) // 2] for case, v in samples.items()}
    obs_name = next(case for case in samples if case.startswith("obs"))
    for case, values in samples.items():
        rps = 1e6 / medians[case]
        note = f"{rps:,.0f} requests/s"
        if case != obs_name and not case.startswith("fastapi bare"):
            note += f"; obs-fastapi serves {medians[case] / medians[obs_name]:.2f}× as many"
        group.results.append(
            Result(name, case, values, "", baseline=case.startswith("fastapi bare"), note=note)
        )
    return group
