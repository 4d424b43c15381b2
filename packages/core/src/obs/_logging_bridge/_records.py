"""What the three logging bridges share: level mapping, loggers never bridged, per-logger
levels, and the one guarded way into a log span."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

from opentelemetry import context as context_api
from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY

from obs import _logs, _settings
from obs._attributes import truncate
from obs._diagnostics import internal_error
from obs._settings import LEVELS, parse_level

#: Python ``logging`` numbers for obs's level names (loguru uses the same scale, TRACE=5).
PYTHON_LEVELS: dict[str, int] = {
    "trace": 5,
    "debug": 10,
    "info": 20,
    "notice": 25,
    "warn": 30,
    "error": 40,
    "fatal": 50,
}

#: Loggers obs never bridges: its own diagnostics and OpenTelemetry's (exporters, processors).
#: Their records describe the export of spans; turning them into spans would feed back.
NEVER_BRIDGED = ("obs", "opentelemetry")

#: Default per-logger levels: httpx/httpcore and uvicorn's access log write a line per request,
#: which the client or server span already records. The user's ``logging_levels`` entries win.
DEFAULT_LOGGER_LEVELS: dict[str, str] = {
    "httpx": "warn",
    "httpcore": "warn",
    "httpx2": "warn",
    "httpcore2": "warn",
    "uvicorn.access": "warn",
}


def level_name(number: int) -> str:
    """obs's level for a Python / loguru level number (custom levels fall between)."""
    if number < 10:
        return "trace"
    if number < 20:
        return "debug"
    if number < 25:
        return "info"
    if number < 30:
        return "notice"  # e.g. loguru's SUCCESS (25)
    if number < 40:
        return "warn"
    if number < 50:
        return "error"
    return "fatal"


def python_level(value: str | int) -> int:
    """A level given as a name (``"warning"``, ``"info"``) or a Python number."""
    if isinstance(value, int):
        return value
    text = value.strip()
    if text.isdigit():
        return int(text)
    if text.lower() == "critical":  # Python's name for what obs calls fatal
        return logging.CRITICAL
    return PYTHON_LEVELS[parse_level(text)]


def never_bridged(name: str) -> bool:
    return name.partition(".")[0] in NEVER_BRIDGED


class LoggerLevels:
    """The least level bridged per logger name, by longest dotted prefix (like ``logging``)."""

    MAX_CACHED = 4096

    def __init__(self, levels: Mapping[str, str | int] | None = None, default: int = 0) -> None:
        merged: dict[str, str | int] = {**DEFAULT_LOGGER_LEVELS, **dict(levels or {})}
        self.levels = {name.strip(): python_level(level) for name, level in merged.items()}
        self.default = default
        self._cache: dict[str, int] = {}

    def threshold(self, name: str) -> int:
        cached = self._cache.get(name)
        if cached is not None:
            return cached
        found = self.default
        probe = name
        while True:
            if probe in self.levels:
                found = self.levels[probe]
                break
            cut = probe.rfind(".")
            if cut < 0:
                break
            probe = probe[:cut]
        if len(self._cache) > self.MAX_CACHED:  # ever-new logger names: stay bounded
            self._cache.clear()
        self._cache[name] = found
        return found


_local = threading.local()


def suppressed() -> bool:
    """True inside obs's own emitting (re-entrancy) or an export (OpenTelemetry's flag)."""
    return bool(getattr(_local, "busy", False)) or bool(
        context_api.get_value(_SUPPRESS_INSTRUMENTATION_KEY)
    )


def record(
    level: str,
    template: str,
    message: str,
    attrs: dict[str, Any],
    exc: BaseException | None,
    time_ns: int | None,
    where: str,
) -> None:
    """One bridged record as a log span; never raises, never re-enters."""
    if LEVELS[level] < _settings.current().min_level_num:
        return
    _local.busy = True
    try:
        _logs.emit(level, truncate(template), message, attrs, exc, time_ns)
    except Exception as error:
        internal_error(where, error)
    finally:
        _local.busy = False
