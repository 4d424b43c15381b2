"""The one patching helper: exact undo, and never clobbering a wrapper put over obs's."""

from __future__ import annotations

import logging

import pytest
import wrapt

import obs
from obs.testing import Capture


class Host:
    def greet(self, name: str) -> str:
        return f"hello {name}"


class Child(Host):
    pass


def test_wrap_and_undo_restore_exactly() -> None:
    from obs.instrumentation import wrap

    original = vars(Host)["greet"]
    patch = wrap(Host, "greet", lambda wrapped, instance, args, kwargs: wrapped(*args).upper())
    assert Host().greet("ada") == "HELLO ADA"
    assert patch.undo()
    assert vars(Host)["greet"] is original
    assert Host().greet("ada") == "hello ada"


def test_an_inherited_attribute_is_removed_again_not_copied_down() -> None:
    from obs.instrumentation import wrap

    patch = wrap(Child, "greet", lambda wrapped, instance, args, kwargs: "wrapped")
    assert Child().greet("x") == "wrapped"
    patch.undo()
    assert "greet" not in vars(Child)
    assert Child().greet("x") == "hello x"


def test_obs_does_not_wrap_its_own_wrapper_twice() -> None:
    from obs.instrumentation import wrap

    patch = wrap(Host, "greet", lambda wrapped, instance, args, kwargs: wrapped(*args))
    try:
        with pytest.raises(RuntimeError, match="already wrapped by obs"):
            wrap(Host, "greet", lambda wrapped, instance, args, kwargs: wrapped(*args))
    finally:
        patch.undo()


def test_someone_elses_wrapper_over_obs_survives_uninstrument(
    obs_capture: Capture, caplog: pytest.LogCaptureFixture
) -> None:
    from fastapi import FastAPI

    import obs_fastapi

    original = vars(FastAPI)["__init__"]
    obs.instrument("fastapi")
    made: list[object] = []

    def theirs(wrapped: object, instance: object, args: tuple, kwargs: dict) -> None:  # type: ignore[type-arg]
        made.append(instance)
        wrapped(*args, **kwargs)  # type: ignore[operator]

    FastAPI.__init__ = wrapt.FunctionWrapper(vars(FastAPI)["__init__"], theirs)  # type: ignore[method-assign]
    try:
        caplog.set_level(logging.WARNING, logger="obs")
        obs.uninstrument("fastapi")
        assert "FastAPI.__init__ was wrapped again after obs instrumented it" in caplog.text
        app = FastAPI()
        assert made == [app]  # their wrapper still runs
        assert not obs_fastapi.is_instrumented(app)  # obs's passes straight through
    finally:
        FastAPI.__init__ = original  # type: ignore[method-assign]
