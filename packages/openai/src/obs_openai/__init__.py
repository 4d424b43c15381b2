"""obs-openai: GenAI spans and metrics for the OpenAI client, streams that always close.

    import obs, obs_openai
    obs.configure()
    obs_openai.instrument_openai()          # every OpenAI / AsyncOpenAI / Azure client
    obs_openai.instrument_openai(client)    # or just this one

or ``obs.configure(instrument=True)``. See the README for the spans, attributes and metrics.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from obs.instrumentation import lazy_exports

if TYPE_CHECKING:
    from obs_openai._instrument import instrument_openai, is_instrumented, uninstrument_openai
    from obs_openai._integration import OpenAIIntegration

# Loaded on first use: the registry imports this package (for its entry point) at
# ``configure(instrument=True)``, before the application may use OpenAI at all.
_LAZY = {
    "OpenAIIntegration": "obs_openai._integration",
    "instrument_openai": "obs_openai._instrument",
    "is_instrumented": "obs_openai._instrument",
    "uninstrument_openai": "obs_openai._instrument",
}


__getattr__ = lazy_exports(__name__, _LAZY)


__all__ = ["OpenAIIntegration", "instrument_openai", "is_instrumented", "uninstrument_openai"]
