"""obs for FastAPI and Starlette: one well-named SERVER span per request.

    import obs, obs_fastapi
    obs.configure()
    obs_fastapi.instrument_app(app)          # or obs.instrument("fastapi") before FastAPI()

For a Starlette app, or any ASGI app: ``app = obs_fastapi.ObsMiddleware(app)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from obs.instrumentation import lazy_exports

if TYPE_CHECKING:
    from obs_fastapi._app import instrument_app, is_instrumented, uninstrument_app
    from obs_fastapi._integration import FastAPIIntegration
    from obs_fastapi._middleware import ObsMiddleware
    from obs_fastapi._options import (
        EXCLUDED_URLS_ENV,
        SENSITIVE_HEADERS,
        SENSITIVE_QUERY_PARAMETERS,
        Options,
        resolve_options,
    )

# Loaded on first use: the registry imports this package (for its entry point) at
# ``configure(instrument=True)``, before the application may use FastAPI at all.
_LAZY = {
    "instrument_app": "obs_fastapi._app",
    "is_instrumented": "obs_fastapi._app",
    "uninstrument_app": "obs_fastapi._app",
    "FastAPIIntegration": "obs_fastapi._integration",
    "ObsMiddleware": "obs_fastapi._middleware",
    "EXCLUDED_URLS_ENV": "obs_fastapi._options",
    "SENSITIVE_HEADERS": "obs_fastapi._options",
    "SENSITIVE_QUERY_PARAMETERS": "obs_fastapi._options",
    "Options": "obs_fastapi._options",
    "resolve_options": "obs_fastapi._options",
}


__getattr__ = lazy_exports(__name__, _LAZY)


__all__ = [
    "EXCLUDED_URLS_ENV",
    "SENSITIVE_HEADERS",
    "SENSITIVE_QUERY_PARAMETERS",
    "FastAPIIntegration",
    "ObsMiddleware",
    "Options",
    "instrument_app",
    "is_instrumented",
    "resolve_options",
    "uninstrument_app",
]
