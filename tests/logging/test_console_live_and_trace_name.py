"""The console prints a log when it happens; ``obs.trace_log`` and the deprecated ``obs.trace``."""

from __future__ import annotations

import logging
import threading
import time
import warnings

import pytest

import obs
from obs._console import ConsoleProcessor
from obs._diagnostics import reset_said


class StampedStream:
    """A text stream that remembers when each write happened."""

    def __init__(self) -> None:
        self.writes: list[tuple[float, str]] = []
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            self.writes.append((time.monotonic(), text))
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def when(self, fragment: str) -> float:
        return next(t for t, text in self.writes if fragment in text)


def test_progress_logs_print_while_a_traced_loop_runs(obs_capture):
    stream = StampedStream()
    obs_capture.configure(span_processors=[ConsoleProcessor(stream, min_level="info")])
    logged_at: dict[int, float] = {}

    @obs.traced
    def long_job() -> None:
        for step in range(3):
            time.sleep(0.4)
            obs.info("step {n} of 3", n=step + 1)
            logged_at[step + 1] = time.monotonic()

    started = time.monotonic()
    long_job()
    ended = time.monotonic()
    for step in (1, 2, 3):
        printed = stream.when(f"step {step} of 3")
        # Printed as it happened (before: all three at `ended`, when the span ended).
        assert printed <= logged_at[step] + 0.05
    assert stream.when("step 1 of 3") < started + 0.6 < ended
    # The span itself is printed when it ends, with its duration; logs are not repeated.
    text = "".join(t for _, t in stream.writes)
    assert text.count("step 1 of 3") == 1
    assert stream.when("long_job") >= ended - 0.05
    lines = text.splitlines()
    assert lines[0].split(" ", 1)[1].startswith("  INFO   step 1 of 3")  # indented under it
    assert "long_job" in lines[3]
    assert " s)" in lines[3]  # its duration, in seconds


def test_stdlib_logs_print_live_too(obs_capture):
    stream = StampedStream()
    logging.getLogger("live").setLevel(logging.INFO)
    obs_capture.configure(span_processors=[ConsoleProcessor(stream)], logging=True)
    with obs.span("outer"):
        logging.getLogger("live").info("half way %d", 50)
        assert "half way 50" in "".join(t for _, t in stream.writes)
        with obs.span("inner"):
            logging.getLogger("live").warning("deeper")
            assert "    WARN   deeper" in "".join(t for _, t in stream.writes)
    logging.getLogger("live").setLevel(logging.NOTSET)


def test_trace_log_is_the_trace_level_log(obs_capture):
    obs_capture.configure()
    obs.trace_log("cache probe {key}", key="k1")
    [record] = obs_capture.logs()
    assert record.attributes["obs.level"] == "trace"
    assert record.attributes["obs.msg"] == "cache probe k1"


def test_obs_trace_still_logs_with_one_deprecation_warning(obs_capture):
    obs_capture.configure()
    reset_said()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        obs.trace("old {way}", way="call")
        obs.trace("old {way}", way="again")
    deprecations = [w for w in caught if issubclass(w.category, DeprecationWarning)]
    assert len(deprecations) == 1
    assert "obs.trace_log" in str(deprecations[0].message)
    assert deprecations[0].filename == __file__  # points at the caller
    assert [s.attributes["obs.msg"] for s in obs_capture.logs()] == ["old call", "old again"]


def test_obs_trace_as_a_decorator_names_traced(obs_capture):
    obs_capture.configure()
    with pytest.raises(TypeError) as bare:

        @obs.trace
        def work() -> None: ...

    with pytest.raises(TypeError) as called:

        @obs.trace(name="work")
        def work2() -> None: ...

    for error in (bare, called):
        message = str(error.value)
        assert "@obs.traced" in message
        assert "\n" not in message
    assert obs_capture.logs() == []  # before: a log named after the function's repr
