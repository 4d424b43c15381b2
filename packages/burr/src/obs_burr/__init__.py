"""obs integration for Burr: one trace per application call, a span per step.

    from obs_burr import ObsHooks

    app = ApplicationBuilder().with_hooks(ObsHooks(name="chatbot"))...build()

or ``obs.instrument("burr")`` (``obs.configure(instrument=True)``) to add the hooks to every
application built afterwards.
"""

from __future__ import annotations

from obs_burr._hooks import ObsHooks

__all__ = ["ObsHooks"]
