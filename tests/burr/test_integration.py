"""``obs.instrument("burr")``: every application built afterwards is traced; uninstrumenting
restores Burr exactly and silences applications built meanwhile."""

from __future__ import annotations

from burr.core import application
from burr.core.application import ApplicationBuilder

import obs
from obs_burr import ObsHooks, _streams
from tests.burr.apps import counter, inc, streamer

ORIGINAL_BUILD = ApplicationBuilder._build_common


def status() -> str:
    return next(i.status for i in obs.integrations() if i.name == "burr")


def test_instrument_traces_applications_built_without_hooks(obs_capture):
    (info,) = obs.instrument("burr", name="bot")
    assert info.status == "instrumented"
    assert status() == "instrumented"

    counter(steps=1).run(halt_after=["finish"])
    assert obs_capture.tree(logs=False) == [
        "invoke_workflow bot",
        "  step inc",
        "  step finish",
        "    prepare",
        "      lookup",
    ]


def test_explicit_hooks_are_not_doubled(obs_capture):
    obs.instrument("burr")
    counter(ObsHooks(name="mine"), steps=1).run(halt_after=["finish"])
    assert [s.name for s in obs_capture.spans if s.name.startswith("invoke_workflow")] == [
        "invoke_workflow mine"
    ]
    assert len(obs_capture.find("step inc")) == 1


def test_the_builder_is_left_as_it_was(obs_capture):
    obs.instrument("burr")
    builder = (
        ApplicationBuilder()
        .with_actions(inc=inc)
        .with_transitions()
        .with_state(n=0)
        .with_entrypoint("inc")
    )
    builder.build()
    assert builder.lifecycle_adapters == []


def test_uninstrument_restores_burr(obs_capture, monkeypatch):
    # Hooks created by hand pin the stream wrappers for the process; pretend none were made.
    monkeypatch.setattr(_streams, "_pinned", False)
    runners = {name: getattr(application, name) for name in _streams._RUNNERS}
    _streams.uninstall()
    originals = {name: getattr(application, name) for name in _streams._RUNNERS}
    try:
        obs.instrument("burr", name="bot")
        assert ApplicationBuilder._build_common is not ORIGINAL_BUILD
        assert _streams.installed()
        built_while_on = counter(steps=1)
        stream_app = streamer()

        obs.uninstrument("burr")
        assert ApplicationBuilder._build_common is ORIGINAL_BUILD
        assert {name: getattr(application, name) for name in _streams._RUNNERS} == originals
        assert status() == "available"

        built_while_on.run(halt_after=["finish"])
        counter(steps=1).run(halt_after=["finish"])
        _, container = stream_app.stream_result(halt_after=["talk"])
        container.get()
        assert [s for s in obs_capture.spans if s.instrumentation_scope.name == "obs.burr"] == []
    finally:
        # put the process back the way the other tests found it
        _streams.uninstall()
        if runners != originals:
            _streams.install()


def test_instrument_is_idempotent(obs_capture):
    obs.instrument("burr")
    patched = vars(ApplicationBuilder)["_build_common"]
    obs.instrument("burr")
    assert vars(ApplicationBuilder)["_build_common"] is patched
    counter(steps=1).run(halt_after=["finish"])
    assert len(obs_capture.find("step inc")) == 1


def test_the_shared_instance_keeps_its_state(obs_capture):
    from obs_burr._integration import BurrIntegration

    obs.instrument("burr")
    BurrIntegration()  # opentelemetry-instrument creates "another" one: the same instance
    obs.uninstrument("burr")
    assert ApplicationBuilder._build_common is ORIGINAL_BUILD


PROGRAM = """
from burr.core import ApplicationBuilder
from obs_burr._integration import BurrIntegration

patched = hasattr(ApplicationBuilder._build_common, "__wrapped__")
print("burr", BurrIntegration().is_instrumented, patched)
"""


def test_opentelemetry_instrument_switches_it_on(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    program = tmp_path / "program.py"
    program.write_text(PROGRAM)
    env = {
        **os.environ,
        "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "fastapi,openai,openai_v2,asgi",
        "OTEL_TRACES_EXPORTER": "none",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
    }
    launcher = Path(sys.executable).parent / "opentelemetry-instrument"
    result = subprocess.run(
        [str(launcher), sys.executable, str(program)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "burr True True" in result.stdout
