"""obs integration for httpx: a CLIENT span per outgoing request, trace context injected.

    import obs_httpx
    obs_httpx.instrument_httpx()          # every Client / AsyncClient on the default transports

or ``obs.configure(instrument=True)``, or the explicit route for one client (any transport)::

    client = httpx.Client(transport=obs_httpx.ObsTransport())
    client = httpx.AsyncClient(transport=obs_httpx.AsyncObsTransport(httpx.AsyncHTTPTransport()))

httpx is imported only when one of these is used: the registry imports this package before it
has checked that httpx is installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from obs.instrumentation import lazy_exports

if TYPE_CHECKING:
    from obs_httpx._instrument import instrument_httpx, is_instrumented, uninstrument_httpx
    from obs_httpx._transport import AsyncObsTransport, ObsTransport

_LAZY = {
    "instrument_httpx": "obs_httpx._instrument",
    "uninstrument_httpx": "obs_httpx._instrument",
    "is_instrumented": "obs_httpx._instrument",
    "ObsTransport": "obs_httpx._transport",
    "AsyncObsTransport": "obs_httpx._transport",
}


__getattr__ = lazy_exports(__name__, _LAZY)


__all__ = [
    "AsyncObsTransport",
    "ObsTransport",
    "instrument_httpx",
    "is_instrumented",
    "uninstrument_httpx",
]
