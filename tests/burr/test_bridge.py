"""ObsHooks and Burr's OpenTelemetryBridge both added by hand (no ``obs.instrument``)."""

from __future__ import annotations

import logging

import pytest
from burr.integrations.opentelemetry import OpenTelemetryBridge

import obs
from obs_burr import ObsHooks
from tests.burr.apps import counter


@pytest.mark.parametrize("obs_first", [True, False], ids=["obs-first", "bridge-first"])
def test_tracer_spans_are_recorded_once_by_obs(
    obs_capture, caplog: pytest.LogCaptureFixture, obs_first: bool
) -> None:
    obs.testing.reset_diagnostics()
    caplog.set_level(logging.WARNING, logger="obs")
    hooks = (ObsHooks(name="b"), OpenTelemetryBridge())
    app = counter(*(hooks if obs_first else hooks[::-1]), steps=1)
    app.run(halt_after=["finish"])

    for name in ("prepare", "lookup"):
        (span,) = obs_capture.find(name)  # one span per ``__tracer`` call, not two
        assert span.instrumentation_scope is not None
        assert span.instrumentation_scope.name == "obs.burr"
    prepare = obs_capture.one("prepare")
    assert prepare.attributes["burr.action"] == "finish"
    assert prepare.parent is not None
    assert prepare.parent.span_id == obs_capture.one("step finish").context.span_id
    inside = obs_capture.one("deep inside").parent
    assert inside is not None
    assert inside.span_id == obs_capture.one("lookup").context.span_id
    assert "OpenTelemetryBridge" in caplog.text


def test_the_bridge_keeps_its_tracer_spans_in_applications_without_obs(obs_capture) -> None:
    counter(OpenTelemetryBridge(), steps=1).run(halt_after=["finish"])
    assert len(obs_capture.find("prepare")) == 1
