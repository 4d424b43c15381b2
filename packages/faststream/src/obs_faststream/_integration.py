"""The ``faststream`` entry-point integration (group ``obs.integrations``)."""

from __future__ import annotations

from typing import Any

from obs.instrumentation import Integration


class FastStreamIntegration(Integration):
    name = "faststream"
    requirement = "faststream>=0.6"

    def _instrument(self, **options: Any) -> None:
        raise NotImplementedError("obs-faststream is a skeleton: instrumentation is not built yet")

    def _uninstrument(self) -> None:
        pass
