"""The integration registry, against real installed metadata (fake distributions on sys.path)."""

from __future__ import annotations

import logging
import sys
import textwrap
from pathlib import Path

import pytest

import obs
import obs.instrumentation
import obs.testing


def make_distribution(
    root: Path, dist: str, module: str, ep_name: str, requirement: str | None, body: str
) -> None:
    info = root / f"{dist.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    requires = f"Requires-Dist: {requirement}; extra == 'instruments'\n" if requirement else ""
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n"
        f"{requires}Provides-Extra: instruments\n"
    )
    (info / "entry_points.txt").write_text(f"[obs.integrations]\n{ep_name} = {module}:Thing\n")
    (root / f"{module}.py").write_text(textwrap.dedent(body))


GOOD = """
    from dataclasses import dataclass

    from obs import Integration
    from obs.instrumentation import IntegrationOptions

    @dataclass(frozen=True)
    class Options(IntegrationOptions):
        flag: bool = False
        level: int = 0

    class Thing(Integration):
        name = "{name}"
        requirement = "{req}"
        options = Options
        calls = []

        def _instrument(self, options):
            Thing.calls.append(("instrument", {{"flag": options.flag, "level": options.level}}))

        def _uninstrument(self):
            Thing.calls.append(("uninstrument", {{}}))
"""


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    obs.testing.reset_diagnostics()
    yield tmp_path
    obs.testing.reset()
    for mod in [m for m in sys.modules if m.startswith("fake_")]:
        del sys.modules[mod]


def info_for(name: str) -> obs.IntegrationInfo:
    return next(i for i in obs.integrations() if i.name == name)


def test_the_four_integrations_are_found():
    names = sorted(i.name for i in obs.integrations())
    assert {"fastapi", "faststream", "openai", "burr"} <= set(names)
    for integration in obs.integrations():
        if integration.name in ("fastapi", "faststream", "openai", "burr"):
            assert integration.status in ("available", "instrumented"), integration


def test_instrument_and_uninstrument_are_idempotent(site, obs_capture):
    make_distribution(
        site,
        "fake-good",
        "fake_good",
        "fakegood",
        "pytest>=1",
        GOOD.format(name="fakegood", req="pytest>=1"),
    )
    [result] = obs.instrument("fakegood", flag=True)
    assert result.status == "instrumented"
    obs.instrument("fakegood")
    module = sys.modules["fake_good"]
    assert module.Thing.calls == [("instrument", {"flag": True, "level": 0})]
    assert info_for("fakegood").status == "instrumented"
    obs.uninstrument("fakegood")
    obs.uninstrument("fakegood")
    assert module.Thing.calls[-1] == ("uninstrument", {})
    assert len(module.Thing.calls) == 2
    assert info_for("fakegood").status == "available"


def test_missing_host_is_reported_without_importing(site, caplog):
    make_distribution(
        site,
        "fake-missing",
        "fake_missing",
        "fakemissing",
        "not-a-real-host>=1",
        "raise ImportError('must not be imported')",
    )
    info = info_for("fakemissing")
    assert info.status == "missing"
    assert "not-a-real-host is not installed" in info.detail
    assert "fake_missing" not in sys.modules
    caplog.set_level(logging.WARNING, logger="obs")
    [result] = obs.instrument("fakemissing")
    assert result.status == "missing"
    assert "not instrumented (missing)" in caplog.text
    assert "Traceback" not in caplog.text


def test_too_old_host_is_reported(site):
    make_distribution(
        site, "fake-old", "fake_old", "fakeold", "pytest>=999", "raise ImportError('nope')"
    )
    info = info_for("fakeold")
    assert info.status == "incompatible"
    assert "the integration needs pytest>=999" in info.detail


def test_disabled_by_environment(site, monkeypatch):
    make_distribution(
        site,
        "fake-off",
        "fake_off",
        "fakeoff",
        "pytest>=1",
        GOOD.format(name="fakeoff", req="pytest>=1"),
    )
    monkeypatch.setenv("OBS_DISABLED_INTEGRATIONS", "fakeoff, other")
    assert info_for("fakeoff").status == "disabled"
    [result] = obs.instrument("fakeoff")
    assert result.status == "disabled"
    assert "fake_off" not in sys.modules


def test_broken_entry_point_is_reported_and_skipped(site, caplog, obs_capture):
    make_distribution(
        site,
        "fake-broken",
        "fake_broken",
        "fakebroken",
        "pytest>=1",
        "raise RuntimeError('boom at import')",
    )
    info = info_for("fakebroken")
    assert info.status == "broken"
    assert "RuntimeError: boom at import" in info.detail
    caplog.set_level(logging.WARNING, logger="obs")
    results = {r.name: r.status for r in obs.instrument()}  # everything: the broken one is skipped
    assert results["fakebroken"] == "broken"


def test_instrument_failure_is_contained(site, caplog):
    body = """
        from obs import Integration

        class Thing(Integration):
            name = "fakefail"
            def _instrument(self, options):
                raise RuntimeError("host changed its API")
            def _uninstrument(self):
                pass
    """
    make_distribution(site, "fake-fail", "fake_fail", "fakefail", None, body)
    caplog.set_level(logging.WARNING, logger="obs")
    [result] = obs.instrument("fakefail")
    assert result.status == "broken"
    assert "host changed its API" in result.detail


def test_conflicting_distributions(site, tmp_path_factory, monkeypatch):
    make_distribution(
        site, "fake-one", "fake_one", "fakedup", None, GOOD.format(name="fakedup", req="")
    )
    other = tmp_path_factory.mktemp("other")
    make_distribution(
        other, "fake-two", "fake_two", "fakedup", None, GOOD.format(name="fakedup", req="")
    )
    monkeypatch.syspath_prepend(str(other))
    info = info_for("fakedup")
    assert info.status == "conflict"
    assert "fake-one" in info.detail
    assert "fake-two" in info.detail


def test_unknown_name_is_a_clear_message(caplog):
    caplog.set_level(logging.WARNING, logger="obs")
    [result] = obs.instrument("fastapy")
    assert result.status == "missing"
    assert "no obs integration named 'fastapy'" in caplog.text


def test_configure_instrument_option(site, obs_capture):
    make_distribution(
        site, "fake-cfg", "fake_cfg", "fakecfg", None, GOOD.format(name="fakecfg", req="")
    )
    handle = obs_capture.configure(instrument={"fakecfg": {"level": 2}})
    assert handle.instrumented == ("fakecfg",)
    assert sys.modules["fake_cfg"].Thing.calls == [("instrument", {"flag": False, "level": 2})]


def test_declared_requirement_matches_class_requirement():
    # The registry reads the extra; the class states it too: they must agree.
    for integration in obs.integrations():
        if integration.name not in ("fastapi", "faststream", "openai", "burr"):
            continue
        instance = obs.instrumentation.find_integration(integration.name)
        assert instance is not None
        assert instance.requirement == integration.requirement
