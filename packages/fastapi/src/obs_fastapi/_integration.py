"""The ``fastapi`` entry-point integration (group ``obs.integrations``)."""

from __future__ import annotations

from typing import Any

from obs.instrumentation import Integration


class FastAPIIntegration(Integration):
    name = "fastapi"
    requirement = "fastapi>=0.115"

    def _instrument(self, **options: Any) -> None:
        raise NotImplementedError("obs-fastapi is a skeleton: instrumentation is not built yet")

    def _uninstrument(self) -> None:
        pass
