"""The ``httpx`` entry-point integration (group ``obs.integrations``).

``obs.configure(instrument=True)`` (or ``instrument={"httpx": {"propagate": False}}``)
switches it on; the options are those of :func:`obs_httpx.instrument_httpx`.
"""

from __future__ import annotations

from typing import Any

from obs.instrumentation import Integration


class HttpxIntegration(Integration):
    name = "httpx"
    requirement = "httpx>=0.24"

    def _instrument(self, **options: Any) -> None:
        # Imported here: the registry loads this module before the host may be imported.
        from obs_httpx._instrument import instrument_httpx

        instrument_httpx(**options)

    def _uninstrument(self) -> None:
        from obs_httpx._instrument import uninstrument_httpx

        uninstrument_httpx()
