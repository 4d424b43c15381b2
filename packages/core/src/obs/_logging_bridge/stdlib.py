"""``obs.LogHandler``: standard ``logging`` records as obs log spans.

    logging.getLogger(__name__).info("order %s paid", order_id, extra={"amount": 42})

becomes a log span named ``order %s paid`` (the record's %-template, so logs group by it and
names stay low-cardinality), ``obs.msg`` = ``order 7 paid``, the ``extra`` fields as attributes
(scrubbed like every attribute), ``exc_info`` recorded as an exception, in the trace that is
current where the record was made. ``configure(logging=True)`` (or ``OBS_LOGGING=1``) installs
one on the root logger; ``logging.getLogger().addHandler(obs.LogHandler())`` does it by hand.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

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
            attrs = to_attributes(
                {k: v for k, v in record.__dict__.items() if k not in _STANDARD and k[0] != "_"}
            )
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

_installed: LogHandler | None = None


def install(option: bool | str | None, levels: Mapping[str, str | int] | None) -> None:
    """Put one ``LogHandler`` on the root logger (replacing obs's previous one), or none.

    ``option``: True (records at INFO and above), a level name, False, or None to read
    ``OBS_LOGGING`` (``1``/``true``, a level name, or ``0``/``false``).
    """
    global _installed
    if option is None:
        option = _env_option()
    uninstall()
    if option is False:
        return
    least = logging.INFO if option is True else _records.python_level(option)
    handler = LogHandler(least, levels)
    root = logging.getLogger()
    if not [h for h in root.handlers if not isinstance(h, LogHandler)] and root.level > least:
        # Nobody configured logging (no handler, default WARNING): records below WARNING
        # would never reach any handler. A level someone set beside their handlers stays.
        root.setLevel(least)
    root.addHandler(handler)
    _installed = handler


def uninstall() -> None:
    global _installed
    if _installed is not None:
        logging.getLogger().removeHandler(_installed)
        _installed = None


def _env_option() -> bool | str:
    raw = (os.environ.get("OBS_LOGGING") or "").strip().lower()
    if not raw or raw in ("0", "false", "no", "off"):
        return False
    if env_flag("OBS_LOGGING"):
        return True
    return raw  # a level name
