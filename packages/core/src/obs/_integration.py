"""The base class every obs integration subclasses."""

from __future__ import annotations

import threading
from typing import Any, ClassVar


class Integration:
    """One host framework's instrumentation.

    Subclasses set ``name`` and ``requirement`` (a PEP 508 requirement on the host, also
    declared as the distribution's ``instruments`` extra so the registry can check it before
    importing anything) and implement ``_instrument``/``_uninstrument``. The base makes
    ``instrument`` idempotent and ``uninstrument`` a no-op when not instrumented.

    An integration module must not import its host at module level: the registry imports the
    entry point only after the requirement check passed.
    """

    name: ClassVar[str] = ""
    requirement: ClassVar[str] = ""

    #: One instance per class: obs's registry and ``opentelemetry-instrument`` (which calls
    #: ``Class().instrument()`` through the ``opentelemetry_instrumentor`` entry points) must
    #: share the same state, or the host would be instrumented twice.
    _instance: ClassVar[Integration | None] = None

    def __new__(cls) -> Integration:
        instance = cls.__dict__.get("_instance")
        if instance is None:
            instance = super().__new__(cls)
            cls._instance = instance
        return instance

    def __init__(self) -> None:
        if "_lock" in self.__dict__:  # the shared instance already exists
            return
        self._lock = threading.RLock()
        self._instrumented = False
        self.options: dict[str, Any] = {}

    @property
    def is_instrumented(self) -> bool:
        return self._instrumented

    def instrument(self, **options: Any) -> None:
        # opentelemetry-instrument passes this; the registry has already checked the host.
        options.pop("skip_dep_check", None)
        with self._lock:
            if self._instrumented:
                return
            self._instrument(**options)
            self.options = dict(options)
            self._instrumented = True

    def uninstrument(self) -> None:
        with self._lock:
            if not self._instrumented:
                return
            self._uninstrument()
            self._instrumented = False
            self.options = {}

    def _instrument(self, **options: Any) -> None:
        raise NotImplementedError

    def _uninstrument(self) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        state = "instrumented" if self._instrumented else "not instrumented"
        return f"<{type(self).__name__} {self.name!r} {state}>"
