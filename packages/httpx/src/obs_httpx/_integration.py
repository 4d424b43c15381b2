"""The ``httpx`` entry-point integration (group ``obs.integrations``).

``obs.configure(instrument=True)`` (or ``instrument={"httpx": {"propagate": False}}``)
switches it on when the application imports httpx; the options are those of
:func:`obs_httpx.instrument_httpx`, plus the ones every integration has.
"""

from __future__ import annotations

from dataclasses import dataclass

from obs.instrumentation import Integration, IntegrationOptions


@dataclass(frozen=True)
class HttpxOptions(IntegrationOptions):
    """``obs.instrument("httpx", **options)``; ``capture_content`` has no use here."""

    #: Add ``traceparent``/``baggage`` headers to outgoing requests.
    propagate: bool = True


class HttpxIntegration(Integration):
    name = "httpx"
    requirement = "httpx>=0.24"
    options = HttpxOptions
    host_module = "httpx"

    def _instrument(self, options: HttpxOptions) -> None:
        # Imported here: the registry loads this module before the host may be imported.
        from obs_httpx._instrument import instrument_httpx

        instrument_httpx(
            tracer_provider=options.tracer_provider,
            meter_provider=options.meter_provider,
            propagate=options.propagate,
        )

    def _uninstrument(self) -> None:
        from obs_httpx._instrument import uninstrument_httpx

        uninstrument_httpx()
