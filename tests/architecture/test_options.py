"""One options contract: a bad option is reported the same way for every integration, before
anything is patched, and the host keeps working."""

from __future__ import annotations

import logging

import pytest

import obs
import obs.testing
from obs.instrumentation import OptionsError
from obs.testing import Capture
from tests.architecture.hosts import HOSTS, Host


@pytest.mark.parametrize("host", HOSTS, ids=lambda h: h.name)
def test_an_unknown_option_is_one_clear_line_and_nothing_is_patched(
    host: Host, obs_capture: Capture, caplog: pytest.LogCaptureFixture
) -> None:
    before = host.snapshot()
    caplog.set_level(logging.WARNING, logger="obs")
    [info] = obs.instrument(host.name, no_such_option=1)
    assert info.status == "broken"
    assert info.detail.startswith(f"obs: integration {host.name!r} has no option 'no_such_option'")
    assert "capture_content" in info.detail  # it lists what it takes
    assert not host.integration_class()().is_instrumented
    assert host.snapshot() == before  # not half-instrumented
    assert "Traceback" not in caplog.text
    assert host.exercise(obs_capture, False) == [] or host.name == "fastapi"


@pytest.mark.parametrize("host", HOSTS, ids=lambda h: h.name)
def test_a_wrongly_typed_option_names_the_option_and_the_type(host: Host) -> None:
    with pytest.raises(OptionsError) as raised:
        host.integration_class()().instrument(capture_content="yes")
    message = str(raised.value)
    assert "option 'capture_content' takes bool | None, not 'yes' (str)" in message
    assert "\n" not in message
    assert not host.integration_class()().is_instrumented


@pytest.mark.parametrize("host", HOSTS, ids=lambda h: h.name)
def test_a_bad_propagation_policy_is_refused_up_front(host: Host) -> None:
    with pytest.raises(OptionsError, match="propagation must be one of"):
        host.integration_class()().instrument(propagation="sometimes")


def test_burr_options_are_used_not_ignored(obs_capture: Capture) -> None:
    from tests.burr.apps import counter

    obs.instrument("burr", name="bot")
    counter(steps=1).run(halt_after=["finish"])
    assert obs_capture.find("invoke_workflow bot")


def test_new_options_on_an_instrumented_integration_are_said_to_be_ignored(
    obs_capture: Capture, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="obs")
    obs.testing.reset_diagnostics()
    obs.instrument("openai")
    obs.instrument("openai", capture_content=True)
    assert "integration 'openai' is already instrumented; the new options are ignored" in (
        caplog.text
    )
