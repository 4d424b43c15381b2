"""The state obs keeps: bounded, and resettable through the public testing helper."""

from __future__ import annotations

import gc
import logging
import weakref

import pytest
from opentelemetry.metrics import CallbackOptions, Observation

import obs
import obs.testing
from obs.testing import Capture


def test_an_instrument_nobody_holds_is_not_kept_alive(obs_capture: Capture) -> None:
    meter = obs.meter("tests.runtime")
    histogram = meter.create_histogram("tests.runtime.dropped")
    gone = weakref.ref(histogram)
    del histogram
    gc.collect()
    assert gone() is None  # the proxy no longer grows with every instrument ever made


def test_openai_instrumentation_does_not_pile_up_instruments(obs_capture: Capture) -> None:
    import obs_openai

    def histograms() -> int:
        gc.collect()
        return sum(1 for o in gc.get_objects() if type(o).__name__ == "_Histogram")

    obs_openai.instrument_openai()
    settled = histograms()
    for _ in range(20):
        obs_openai.instrument_openai()  # replaces the options: new instruments each time
        obs_capture.configure()
    assert histograms() <= settled
    obs_openai.uninstrument_openai()


def test_an_observable_instrument_keeps_reporting_after_reconfiguration(
    obs_capture: Capture,
) -> None:
    def observe(options: CallbackOptions) -> list[Observation]:
        return [Observation(7)]

    obs.meter("tests.runtime").create_observable_gauge("tests.runtime.depth", callbacks=[observe])
    gc.collect()
    obs_capture.configure()  # a new provider: the gauge must be re-bound to it
    points = obs_capture.metrics()["tests.runtime.depth"]
    assert [p.value for p in points] == [7]


def test_reset_forgets_diagnostics_and_switches_everything_off(
    obs_capture: Capture, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OBS_PROPAGATION", "sometimes")
    caplog.set_level(logging.WARNING, logger="obs")
    obs.testing.reset_diagnostics()
    obs_capture.configure()
    obs_capture.configure()
    assert caplog.text.count("ignoring OBS_PROPAGATION") == 1  # said once
    obs.instrument("burr")
    obs.testing.reset()
    obs_capture.configure()
    assert caplog.text.count("ignoring OBS_PROPAGATION") == 2  # said again after the reset
    assert not [i for i in obs.integrations() if i.status == "instrumented"]
