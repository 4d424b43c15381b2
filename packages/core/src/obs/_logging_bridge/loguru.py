"""``obs.loguru_sink``: loguru messages as obs log spans.

    from loguru import logger
    logger.add(obs.loguru_sink, level="INFO")

loguru formats the message at the call (``logger.info("user {name}", name=n)``) and keeps no
template, so the span is named by the formatted text; values bound with ``logger.bind(...)`` or
passed as keyword arguments arrive in ``extra`` and become attributes (scrubbed like every
attribute). Sinks run in the calling thread, so the log sits in the current trace, unless the
sink is added with ``enqueue=True`` (then it runs on loguru's thread, outside any trace). No
loguru import: a sink is any callable taking the message, whose ``.record`` is a dict.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from obs._attributes import to_attributes
from obs._diagnostics import internal_error
from obs._logging_bridge import _records


class LoguruSink:
    """A loguru sink; ``levels`` quiets modules by name prefix, as ``LogHandler``."""

    def __init__(self, levels: Mapping[str, str | int] | None = None) -> None:
        self.levels = _records.LoggerLevels(levels)

    def __call__(self, message: Any) -> None:
        try:
            self._record(message.record)
        except Exception as error:
            internal_error("loguru sink", error)

    def _record(self, record: Mapping[str, Any]) -> None:
        if _records.suppressed():
            return
        name = str(record.get("name") or "")
        if name and _records.never_bridged(name):
            return
        number = int(getattr(record.get("level"), "no", 20))
        if number < self.levels.threshold(name):
            return
        text = str(record.get("message", ""))
        extra = record.get("extra")
        attrs = to_attributes(extra if isinstance(extra, Mapping) else {})
        if name:
            attrs["logger.name"] = name
        for key, attribute in (
            ("function", "code.function.name"),
            ("line", "code.line.number"),
        ):
            value = record.get(key)
            if value is not None:
                attrs[attribute] = value
        path = getattr(record.get("file"), "path", None)
        if path:
            attrs["code.file.path"] = str(path)
        exception = record.get("exception")
        exc = getattr(exception, "value", None)
        stamp = getattr(record.get("time"), "timestamp", None)
        time_ns = int(stamp() * 1e9) if callable(stamp) else None
        _records.record(
            _records.level_name(number),
            text,
            text,
            attrs,
            exc if isinstance(exc, BaseException) else None,
            time_ns,
            "loguru sink",
        )


#: The sink to hand to ``logger.add`` (``LoguruSink(levels=...)`` for per-module levels).
loguru_sink = LoguruSink()
