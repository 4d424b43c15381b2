"""obs's own diagnostics: the ``obs`` logger and "say it once" helpers.

Instrumentation must never break the host, so failures inside obs are logged (once per
distinct cause, to avoid flooding a busy service's logs) and swallowed.
"""

from __future__ import annotations

import logging

from obs._runtime import forget_diagnostics, runtime

logger = logging.getLogger("obs")


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
