"""Every integration instruments, uninstruments and re-instruments cleanly, whatever the route.

Routes on: ``obs.instrument(name)``, ``obs.configure(instrument=[name])``, and the way
``opentelemetry-instrument`` does it (a new instance from the ``opentelemetry_instrumentor``
entry point each time, then ``instrument()``). Routes off: ``obs.uninstrument(name)``,
``obs.uninstrument()``, and a new instance's ``uninstrument()``. Each pair runs twice in a row
(re-instrumenting), and after each "off" the host's patched attributes hold exactly the objects
they held before. The explicit route (middleware, hooks, ``instrument_app``,
``instrument_openai(client)``) gives the same spans alone, and no second set beside the
automatic one.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

import pytest

import obs
from obs.testing import Capture
from tests.architecture.hosts import HOSTS, Host


def _otel_instance(host: Host) -> Any:
    """A new instance, as opentelemetry-instrument makes: ``entry_point.load()()``."""
    [ep] = [
        ep
        for ep in entry_points(group="opentelemetry_instrumentor")
        if ep.name == f"obs_{host.name}"
    ]
    return ep.load()()


def _obs_only(names: list[str]) -> list[str]:
    return sorted(n for n in names if not n.startswith("native:"))


ON: dict[str, Callable[[Host, Capture], None]] = {
    "obs.instrument": lambda host, capture: _ok(obs.instrument(host.name)),
    "configure": lambda host, capture: _configured(capture.configure(instrument=[host.name])),
    "opentelemetry-instrument": lambda host, capture: _otel_instance(host).instrument(),
}
OFF: dict[str, Callable[[Host], None]] = {
    "obs.uninstrument(name)": lambda host: obs.uninstrument(host.name),
    "obs.uninstrument()": lambda host: obs.uninstrument(),
    "opentelemetry-instrument": lambda host: _otel_instance(host).uninstrument(),
}


def _ok(results: list[obs.IntegrationInfo]) -> None:
    assert [r.status for r in results] == ["instrumented"], results


def _configured(handle: obs.Obs) -> None:
    assert len(handle.instrumented) == 1, handle.instrumented


@pytest.mark.parametrize("off", list(OFF))
@pytest.mark.parametrize("on", list(ON))
@pytest.mark.parametrize("host", HOSTS, ids=lambda h: h.name)
def test_on_off_on_off(host: Host, on: str, off: str, obs_capture: Capture) -> None:
    before = host.snapshot()
    assert _obs_only(host.exercise(obs_capture, False)) == []
    for _ in range(2):
        ON[on](host, obs_capture)
        assert host.integration_class()().is_instrumented
        assert sorted(host.exercise(obs_capture, False)) == sorted(host.expected)
        OFF[off](host)
        assert not host.integration_class()().is_instrumented
        assert host.snapshot() == before
        assert _obs_only(host.exercise(obs_capture, False)) == []


@pytest.mark.parametrize("host", HOSTS, ids=lambda h: h.name)
def test_by_hand_alone_and_beside_the_automatic_route(host: Host, obs_capture: Capture) -> None:
    before = host.snapshot()
    assert sorted(host.exercise(obs_capture, True)) == sorted(host.expected)
    assert host.snapshot() == before  # the explicit route patches no class
    obs.instrument(host.name)
    assert sorted(host.exercise(obs_capture, True)) == sorted(host.expected)  # not doubled
    obs.uninstrument(host.name)
    assert host.snapshot() == before


@pytest.mark.parametrize("host", HOSTS, ids=lambda h: h.name)
def test_a_second_instance_does_not_lose_what_the_first_patched(
    host: Host, obs_capture: Capture
) -> None:
    # What opentelemetry-instrument does, then obs.uninstrument(): the host is restored.
    before = host.snapshot()
    _otel_instance(host).instrument()
    _otel_instance(host)
    host.integration_class()()
    obs.uninstrument()
    assert host.snapshot() == before
