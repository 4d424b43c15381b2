"""The state obs keeps at run time, owned by one object.

The settings in force (installed by ``configure``), what obs has said once (diagnostics), the
integrations it loaded and those that are instrumented live on one :class:`Runtime`, so a test
can start from a clean slate through ``obs.testing.reset()`` instead of reaching into private
modules. The OpenTelemetry providers are ``obs._config``'s.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from obs._integration import Integration
    from obs._settings import Settings


class Runtime:
    #: What ``obs.settings()`` returns; ``obs._settings`` installs the defaults at import.
    settings: Settings

    def __init__(self) -> None:
        self.lock = threading.RLock()
        #: Keys of the messages said once (``obs._diagnostics.once``).
        self.said: set[str] = set()
        #: Integrations the registry loaded from entry points, by name.
        self.loaded: dict[str, Integration] = {}
        #: Every instrumented integration, however it was switched on (registry, by hand,
        #: ``opentelemetry-instrument``): what ``obs.uninstrument()`` switches off.
        self.instrumented: dict[str, Integration] = {}


_runtime = Runtime()


def runtime() -> Runtime:
    return _runtime


def forget_diagnostics() -> None:
    """Let every "said once" message be said again."""
    with _runtime.lock:
        _runtime.said.clear()
