"""The ``fastapi`` entry-point integration (group ``obs.integrations``).

``obs.instrument("fastapi", **options)`` instruments every FastAPI app created afterwards (it
wraps ``FastAPI.__init__``); ``uninstrument`` restores ``__init__`` and uninstruments the apps
it instrumented. The host is imported only inside ``_instrument``: the registry imports this
module before it knows FastAPI is usable.
"""

from __future__ import annotations

import functools
import weakref
from typing import Any

from obs.instrumentation import Integration, internal_error


class FastAPIIntegration(Integration):
    name = "fastapi"
    requirement = "fastapi>=0.115"

    def __init__(self) -> None:
        super().__init__()
        self._apps: weakref.WeakSet[Any] = weakref.WeakSet()
        self._patched: tuple[type, Any] | None = None
        self._options: Any = None

    def _instrument(self, **options: Any) -> None:
        from fastapi import FastAPI

        from obs_fastapi._app import instrument_app
        from obs_fastapi._options import resolve_options

        opts = resolve_options(**options)  # bad options fail here, not in every FastAPI()
        original = FastAPI.__init__
        apps = self._apps

        @functools.wraps(original)
        def __init__(app: Any, *args: Any, **kwargs: Any) -> None:
            original(app, *args, **kwargs)
            try:
                instrument_app(app, options=opts)
                apps.add(app)
            except Exception as exc:
                internal_error("obs_fastapi: instrumenting a new FastAPI app", exc)

        FastAPI.__init__ = __init__  # type: ignore[method-assign,assignment]
        self._patched = (FastAPI, original)
        self._options = opts

    def _uninstrument(self) -> None:
        from obs_fastapi._app import app_options, uninstrument_app

        if self._patched is not None:
            cls, original = self._patched
            cls.__init__ = original  # type: ignore[misc]
            self._patched = None
        for app in list(self._apps):
            # An app re-instrumented by hand with its own options stays instrumented.
            if app_options(app) is self._options:
                uninstrument_app(app)
        self._apps = weakref.WeakSet()
