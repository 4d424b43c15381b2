"""``obs.StructlogProcessor``: structlog events as obs log spans, the event dict unchanged.

    structlog.configure(processors=[
        structlog.processors.add_log_level,
        obs.StructlogProcessor(),          # before the renderer: it needs the dict
        structlog.dev.ConsoleRenderer(),
    ])

structlog's event (``log.info("user logged in", user_id=7)``) is already a constant message
with its values beside it: the event is the span name (low-cardinality), the other keys are
attributes (scrubbed like every attribute). ``exc_info`` (``log.exception(...)``) is recorded
as an exception. No structlog import: a processor is any callable taking
``(logger, method_name, event_dict)``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

from obs._attributes import to_attributes
from obs._diagnostics import internal_error
from obs._logging_bridge import _records

_METHOD_LEVELS = {
    "trace": "trace",
    "debug": "debug",
    "info": "info",
    "msg": "info",
    "log": "info",
    "notice": "notice",
    "warn": "warn",
    "warning": "warn",
    "error": "error",
    "err": "error",
    "exception": "error",
    "critical": "fatal",
    "fatal": "fatal",
}
#: Keys structlog's own processors add, which say how to log rather than what happened.
_NOT_ATTRIBUTES = frozenset(
    {"event", "level", "timestamp", "exc_info", "stack_info", "_record", "_from_structlog"}
)


class StructlogProcessor:
    """A structlog processor; ``levels`` quiets loggers by name prefix, as ``LogHandler``."""

    def __init__(self, levels: Mapping[str, str | int] | None = None) -> None:
        self.levels = _records.LoggerLevels(levels)

    def __call__(
        self, logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        try:
            self._record(logger, method_name, event_dict)
        except Exception as error:
            internal_error("structlog processor", error)
        return event_dict

    def _record(self, logger: Any, method_name: str, event_dict: Mapping[str, Any]) -> None:
        if _records.suppressed():
            return
        name = event_dict.get("logger") or getattr(logger, "name", None) or ""
        name = name if isinstance(name, str) else str(name)
        if name and _records.never_bridged(name):
            return
        stated = event_dict.get("level")
        level = _METHOD_LEVELS.get(str(stated or method_name).lower(), "info")
        if _records.PYTHON_LEVELS[level] < self.levels.threshold(name):
            return
        event = event_dict.get("event")
        template = event if isinstance(event, str) else str(event)
        attrs = to_attributes({k: v for k, v in event_dict.items() if k not in _NOT_ATTRIBUTES})
        if name:
            attrs["logger.name"] = name
        exc = _exception(event_dict.get("exc_info"), method_name)
        _records.record(level, template, template, attrs, exc, None, "structlog processor")


def _exception(exc_info: Any, method_name: str) -> BaseException | None:
    if isinstance(exc_info, BaseException):
        return exc_info
    if isinstance(exc_info, tuple) and len(exc_info) == 3:
        value = exc_info[1]
        return value if isinstance(value, BaseException) else None
    if exc_info is True or (exc_info is None and method_name == "exception"):
        return sys.exc_info()[1]
    return None
