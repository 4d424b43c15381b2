"""The ``openai`` entry-point integration (group ``obs.integrations``).

``obs.configure(instrument=True)`` (or ``instrument={"openai": {...}}``) switches it on; the
options are those of :func:`obs_openai.instrument_openai` without ``client``.
"""

from __future__ import annotations

from typing import Any

from obs.instrumentation import Integration


class OpenAIIntegration(Integration):
    name = "openai"
    requirement = "openai>=1.60"

    def _instrument(self, **options: Any) -> None:
        # Imported here: the registry loads this module before the host may be imported.
        from obs_openai._instrument import instrument_openai

        instrument_openai(**options)

    def _uninstrument(self) -> None:
        from obs_openai._instrument import uninstrument_openai

        uninstrument_openai()
