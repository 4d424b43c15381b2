"""obs integration for Burr: one trace per application call, a span per step.

    from obs_burr import ObsHooks

    app = ApplicationBuilder().with_hooks(ObsHooks(name="chatbot"))...build()

or ``obs.instrument("burr")`` (``obs.configure(instrument=True)``) to add the hooks to every
application built afterwards. Importing this package does not import Burr (the registry loads
the integration before the application may use Burr); ``ObsHooks`` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from obs_burr._hooks import ObsHooks


def __getattr__(name: str) -> Any:
    if name == "ObsHooks":
        from obs_burr._hooks import ObsHooks

        return ObsHooks
    raise AttributeError(f"module 'obs_burr' has no attribute {name!r}")


__all__ = ["ObsHooks"]
