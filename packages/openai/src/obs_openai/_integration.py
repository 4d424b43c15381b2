"""The ``openai`` entry-point integration (group ``obs.integrations``).

``obs.configure(instrument=True)`` (or ``instrument={"openai": {...}}``) switches it on when
``openai`` is imported; the options are those every integration has (``capture_content``,
``tracer_provider``, ``meter_provider``), as for :func:`obs_openai.instrument_openai`.
"""

from __future__ import annotations

from obs.instrumentation import Integration, IntegrationOptions


class OpenAIIntegration(Integration):
    name = "openai"
    requirement = "openai>=1.60"
    options = IntegrationOptions
    host_module = "openai"

    def _instrument(self, options: IntegrationOptions) -> None:
        # Imported here: the registry loads this module before the host may be imported.
        from obs_openai._instrument import instrument_openai

        instrument_openai(
            capture_content=options.capture_content,
            tracer_provider=options.tracer_provider,
            meter_provider=options.meter_provider,
        )

    def _uninstrument(self) -> None:
        from obs_openai._instrument import uninstrument_openai

        uninstrument_openai()
