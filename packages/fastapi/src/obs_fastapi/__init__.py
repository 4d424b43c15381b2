"""obs for FastAPI and Starlette: one well-named SERVER span per request.

    import obs, obs_fastapi
    obs.configure()
    obs_fastapi.instrument_app(app)          # or obs.instrument("fastapi") before FastAPI()

For a Starlette app, or any ASGI app: ``app = obs_fastapi.ObsMiddleware(app)``.
"""

from __future__ import annotations

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
