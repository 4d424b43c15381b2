"""obs's own diagnostics: the ``obs`` logger and "say it once" helpers.

Instrumentation must never break the host, so failures inside obs are logged (once per
distinct cause, to avoid flooding a busy service's logs) and swallowed.
"""

from __future__ import annotations

import logging

from obs._runtime import forget_diagnostics, runtime

logger = logging.getLogger("obs")


class _ScrubbingFilter(logging.Filter):
    """obs's own log lines pass through the scrubber like any span.

    They quote what obs was handed (an endpoint with ``user:password@``, an exception from an
    exporter or the host), and a log line leaves the process as surely as a span.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            from obs import _settings  # imported late: settings import the scrubber

            scrubber = _settings.current().scrubber
            if scrubber is None:
                return True
            found: list[str] = []
            message = scrubber.scrub_text("log", record.getMessage(), found)
            if record.exc_info:
                text = logging.Formatter().formatException(record.exc_info)
                before = len(found)
                # Formatters use exc_text when it is set; without exc_info no handler can
                # format the original traceback behind it.
                record.exc_text = scrubber.scrub_text("log.exception", text, found)
                if len(found) > before:
                    record.exc_info = None
            if found:
                record.msg, record.args = message, None
        except Exception:
            record.msg, record.args = "obs: (a diagnostic that could not be scrubbed)", None
            record.exc_info = record.exc_text = None
        return True


logger.addFilter(_ScrubbingFilter())


def once(key: str) -> bool:
    """True the first time ``key`` is seen in this process, False afterwards."""
    state = runtime()
    if key in state.said:
        return False
    with state.lock:
        if key in state.said:
            return False
        state.said.add(key)
        return True


def warn_once(key: str, message: str, *args: object) -> None:
    if once(key):
        logger.warning(message, *args)


def internal_error(where: str, exc: BaseException | None = None) -> None:
    """Log a failure inside obs once per place; the host carries on."""
    if once("internal-error:" + where):
        logger.warning(
            "obs: internal error in %s (instrumentation skipped it; the host is unaffected)",
            where,
            exc_info=exc if exc is not None else True,
        )


def reset_said() -> None:
    """Forget what was said (tests use this to observe a first-time message again)."""
    forget_diagnostics()
