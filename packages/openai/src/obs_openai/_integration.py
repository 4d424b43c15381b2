"""The ``openai`` entry-point integration (group ``obs.integrations``)."""

from __future__ import annotations

from typing import Any

from obs.instrumentation import Integration


class OpenAIIntegration(Integration):
    name = "openai"
    requirement = "openai>=1.60"

    def _instrument(self, **options: Any) -> None:
        raise NotImplementedError("obs-openai is a skeleton: instrumentation is not built yet")

    def _uninstrument(self) -> None:
        pass
