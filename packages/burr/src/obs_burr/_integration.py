"""The ``burr`` entry-point integration (group ``obs.integrations``)."""

from __future__ import annotations

from typing import Any

from obs.instrumentation import Integration


class BurrIntegration(Integration):
    name = "burr"
    requirement = "apache-burr>=0.40"

    def _instrument(self, **options: Any) -> None:
        raise NotImplementedError("obs-burr is a skeleton: instrumentation is not built yet")

    def _uninstrument(self) -> None:
        pass
