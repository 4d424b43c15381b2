"""The ``fastapi`` entry-point integration (group ``obs.integrations``).

``obs.instrument("fastapi", **options)`` instruments every FastAPI app: those created
afterwards (it wraps ``FastAPI.__init__`` when ``fastapi`` is imported) and those that already
exist. ``uninstrument`` restores ``__init__`` and uninstruments the apps it instrumented; an app
instrumented by hand (``instrument_app``) is left as it is either way.
"""

from __future__ import annotations

import weakref
from typing import Any

from obs.instrumentation import Integration
from obs_fastapi._options import FastAPIOptions, Options


class FastAPIIntegration(Integration):
    name = "fastapi"
    requirement = "fastapi>=0.115"
    options = FastAPIOptions
    host_module = "fastapi"

    _apps: weakref.WeakSet[Any]
    _resolved: Options | None = None

    def _instrument(self, options: FastAPIOptions) -> None:
        from fastapi import FastAPI

        resolved = options.resolve()  # once, not per app
        self._resolved = resolved
        self._apps = weakref.WeakSet()

        self.every_instance(FastAPI, lambda app: self._adopt(app, resolved))

    def _adopt(self, app: Any, resolved: Options) -> None:
        from obs_fastapi._app import instrument_app, is_instrumented

        if is_instrumented(app):  # by hand: the user's options stand
            return
        instrument_app(app, options=resolved)
        self._apps.add(app)

    def _uninstrument(self) -> None:
        from obs_fastapi._app import app_options, uninstrument_app

        for app in list(self._apps):
            # An app re-instrumented by hand with its own options stays instrumented.
            if app_options(app) is self._resolved:
                uninstrument_app(app)
        self._apps = weakref.WeakSet()
        self._resolved = None
