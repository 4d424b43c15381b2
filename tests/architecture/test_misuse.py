"""Friendly misuse: the obvious reading of an argument, or a one-line error that names it;
bad ``OBS_*`` values never stop a service from starting."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest

import obs
from obs.testing import Capture


def test_a_string_for_instrument_is_one_name(obs_capture: Capture) -> None:
    handle = obs_capture.configure(instrument="burr")
    assert handle.instrumented == ("burr",)


def test_a_list_for_scrubbing_is_extra_patterns(obs_capture: Capture) -> None:
    obs_capture.configure(scrubbing=["national_id"])
    with obs.span("register", national_id="AB123456", city="Lyon"):
        pass
    attributes = obs_capture.one("register").attributes or {}
    assert attributes["national_id"] == "[scrubbed: national_id]"
    assert attributes["city"] == "Lyon"


def test_a_scrubbing_pattern_that_does_not_compile_is_named(obs_capture: Capture) -> None:
    with pytest.raises(ValueError, match=r"scrubbing pattern '\(\(' is not a valid"):
        obs_capture.configure(scrubbing=["(("])


@pytest.mark.parametrize(
    ("argument", "value", "expected"),
    [
        ("service_name", 42, "obs.configure: service_name takes str | None, not 42 (int)"),
        ("sample_rate", "0.5", "obs.configure: sample_rate takes float | None, not '0.5' (str)"),
        ("console", "yes", "obs.configure: console takes bool | None, not 'yes' (str)"),
        ("span_processors", [object()], "obs.configure: span_processors takes"),
    ],
)
def test_configure_names_the_argument_of_the_wrong_type(
    obs_capture: Capture, argument: str, value: object, expected: str
) -> None:
    with pytest.raises(TypeError) as raised:
        obs_capture.configure(**{argument: value})
    assert str(raised.value).startswith(expected)


def test_instrument_names_must_be_strings() -> None:
    with pytest.raises(TypeError, match=r"obs\.instrument: names takes str, not 3 \(int\)"):
        obs.instrument(3)  # type: ignore[arg-type]


START = """
import logging, obs
logging.basicConfig(level=logging.WARNING, format="%(message)s")
handle = obs.configure(store=False)
handle = obs.configure(store=False)  # said once, not twice
print("started", handle.settings.propagation.value, handle.settings.min_level)
"""


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("OBS_SAMPLE_RATE", "abc"),
        ("OBS_SAMPLE_RATE", "7"),
        ("OBS_PROPAGATION", "sometimes"),
        ("OBS_MIN_LEVEL", "loud"),
        ("OBS_STORE_MAX_AGE_S", "a week"),
        ("OBS_CAPTURE_CONTENT", "maybe"),
        ("OBS_CONSOLE", "perhaps"),
    ],
)
def test_a_bad_environment_value_warns_once_and_falls_back(variable: str, value: str) -> None:
    # Only the variable under test (and the import path, so the code under test is used).
    path = os.environ.get("PYTHONPATH", "")
    env = {"PATH": "", "PYTHONPATH": path, "OBS_STORE": "off", variable: value}
    result = subprocess.run(
        [sys.executable, "-c", START], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "started trust trace" in result.stdout
    warnings = [line for line in result.stderr.splitlines() if variable in line]
    assert len(warnings) == 1, result.stderr
    assert f"ignoring {variable}={value!r}" in warnings[0]
    assert "Traceback" not in result.stderr


def test_a_good_environment_value_is_still_used(
    obs_capture: Capture, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("OBS_PROPAGATION", "link")
    caplog.set_level(logging.WARNING, logger="obs")
    handle = obs_capture.configure()
    assert handle.settings.propagation is obs.PropagationPolicy.LINK
    assert "ignoring" not in caplog.text
