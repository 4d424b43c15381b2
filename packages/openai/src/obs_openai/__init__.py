"""obs-openai: GenAI spans and metrics for the OpenAI client, streams that always close.

    import obs, obs_openai
    obs.configure()
    obs_openai.instrument_openai()          # every OpenAI / AsyncOpenAI / Azure client
    obs_openai.instrument_openai(client)    # or just this one

or ``obs.configure(instrument=True)``. See the README for the spans, attributes and metrics.
"""

from __future__ import annotations

from obs_openai._instrument import instrument_openai, is_instrumented, uninstrument_openai
from obs_openai._integration import OpenAIIntegration

__all__ = ["OpenAIIntegration", "instrument_openai", "is_instrumented", "uninstrument_openai"]
