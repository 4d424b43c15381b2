"""``obs.LogHandler``: standard ``logging`` records as obs log spans.

    logging.getLogger(__name__).info("order %s paid", order_id, extra={"amount": 42})

becomes a log span named ``order %s paid`` (the record's %-template, so logs group by it and
names stay low-cardinality), ``obs.msg`` = ``order 7 paid``, the ``extra`` fields as attributes
(scrubbed like every attribute), ``exc_info`` recorded as an exception, in the trace that is
current where the record was made. ``configure(logging=True)`` (or ``OBS_LOGGING=1``) hands
every record to one (below: without taking a place among the root logger's handlers);
``logging.getLogger("app").addHandler(obs.LogHandler())`` attaches one by hand.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from obs._attributes import to_attributes
from obs._diagnostics import internal_error
from obs._logging_bridge import _records
from obs._settings import env_flag

#: Attributes every ``LogRecord`` has; anything else on a record came from ``extra``.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


class LogHandler(logging.Handler):
    """Turns each record into a log span. ``levels`` quiets loggers by name prefix:
    ``LogHandler(levels={"httpx": "warning", "sqlalchemy.engine": "info"})``."""

    def __init__(
        self, level: int | str = logging.NOTSET, levels: Mapping[str, str | int] | None = None
    ) -> None:
        super().__init__(level)
        self.levels = _records.LoggerLevels(levels)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            name = record.name
            if (
                _records.never_bridged(name)
                or record.levelno < self.levels.threshold(name)
                or _records.suppressed()
            ):
                return
            level = _records.level_name(record.levelno)
            template, message = _template_and_message(record)
            attrs = to_attributes(_extra(record))
            attrs["logger.name"] = name
            attrs["code.function.name"] = record.funcName
            attrs["code.file.path"] = record.pathname
            attrs["code.line.number"] = record.lineno
            exc = record.exc_info[1] if record.exc_info else None
        except Exception as error:
            internal_error("logging handler", error)
            return
        _records.record(
            level, template, message, attrs, exc, int(record.created * 1e9), "logging handler"
        )


def _extra(record: logging.LogRecord) -> dict[str, Any]:
    # ``extra={"": 1}`` or ``extra={1: "x"}`` is accepted by logging; it must not lose the record.
    extra: dict[str, Any] = {}
    for key, value in record.__dict__.items():
        name = key if isinstance(key, str) else str(key)
        if name and name not in _STANDARD and name[0] != "_":
            extra[name] = value
    return extra


def _template_and_message(record: logging.LogRecord) -> tuple[str, str]:
    msg = record.msg
    try:
        message = record.getMessage()
    except Exception:  # bad %-arguments: logging itself would print a traceback
        message = str(msg)
    # With arguments, ``msg`` is the constant template; without, the text is all there is.
    template = msg if isinstance(msg, str) and record.args else message
    # Some libraries frame a record in blank lines (banners); neither should start there.
    return template.strip() or template, message.strip() or message


# -- configure(logging=...) ----------------------------------------------------------------
#
# ``configure(logging=True)`` does not add its handler to the root logger: a handler there
# makes a later ``logging.basicConfig()`` a silent no-op (it only acts on a root without
# handlers), and ``basicConfig(force=True)`` or a ``dictConfig`` naming the root would drop
# it, silently. Instead ``Logger.callHandlers``, through which every record that passed its
# logger's level goes once, hands the record to obs's handler first, when a handler on the
# root logger would have seen it; the logging set-up is the application's, before and after.
# (Sentry's logging integration hooks in the same way for the same reason.)

_installed: LogHandler | None = None
_original_call_handlers: Any = None


def _call_handlers(logger: logging.Logger, record: logging.LogRecord) -> None:
    handler = _installed
    if handler is not None and record.levelno >= handler.level and _reaches_root(logger):
        handler.handle(record)
    _original_call_handlers(logger, record)


def _reaches_root(logger: logging.Logger) -> bool:
    """Would a handler on the root logger see this logger's records? (``propagate=False``
    keeps a library's records out of the application's logs; obs's as well.)"""
    current: logging.Logger | None = logger
    while current is not None:
        if not current.propagate:
            return current.parent is None  # the root itself
        current = current.parent
    return True


def install(option: bool | str | None, levels: Mapping[str, str | int] | None) -> None:
    """Bridge every record to obs (replacing obs's previous set-up), or none.

    ``option``: True (records at INFO and above), a level name, False, or None to read
    ``OBS_LOGGING`` (``1``/``true``, a level name, or ``0``/``false``).
    """
    global _installed, _original_call_handlers
    if option is None:
        option = _env_option()
    uninstall()
    if option is False:
        return
    least = logging.INFO if option is True else _records.python_level(option)
    root = logging.getLogger()
    if not root.handlers and root.level > least:
        # Nobody configured logging (no handler, default WARNING): records below WARNING
        # would never be made. Python's last-resort output still prints WARNING and up only;
        # a level someone set beside their handlers stays theirs.
        root.setLevel(least)
    _installed = LogHandler(least, levels)
    if _original_call_handlers is None:
        _original_call_handlers = logging.Logger.callHandlers
        logging.Logger.callHandlers = _call_handlers  # type: ignore[method-assign,assignment]


def uninstall() -> None:
    global _installed, _original_call_handlers
    _installed = None
    # Someone who wrapped it after us keeps theirs; ours then stays, inert (no handler).
    if (
        _original_call_handlers is not None
        and logging.Logger.__dict__.get("callHandlers") is _call_handlers
    ):
        logging.Logger.callHandlers = _original_call_handlers  # type: ignore[method-assign]
        _original_call_handlers = None


def installed() -> LogHandler | None:
    """The handler ``configure(logging=...)`` installed, if any."""
    return _installed


def _env_option() -> bool | str:
    raw = (os.environ.get("OBS_LOGGING") or "").strip().lower()
    if not raw or raw in ("0", "false", "no", "off"):
        return False
    if env_flag("OBS_LOGGING"):
        return True
    return raw  # a level name
