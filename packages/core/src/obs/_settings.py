"""The settings obs runs with, resolved from ``configure()`` arguments and the environment.

Explicit arguments win over ``OBS_*`` variables, which win over defaults. Standard
``OTEL_*`` variables are honoured where OpenTelemetry defines one (service name, resource
attributes, OTLP endpoint and headers, sampler).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from enum import Enum

from obs._runtime import runtime
from obs._scrubbing import Scrubber

LEVELS: dict[str, int] = {
    # OpenTelemetry log severity numbers, so levels sort the same everywhere.
    "trace": 1,
    "debug": 5,
    "info": 9,
    "notice": 10,
    "warn": 13,
    "error": 17,
    "fatal": 21,
}


class PropagationPolicy(str, Enum):
    """What to do with trace context that arrives with a request or message."""

    #: Continue the caller's trace: the incoming span is the parent, but the caller's
    #: sampled flag does not switch this service's telemetry off (the service samples itself).
    TRUST = "trust"
    #: Continue the caller's trace and follow its sampling decision too (strict W3C): for a
    #: mesh of your own services, where a caller's sampled=0 should silence the callee.
    STRICT = "strict"
    #: Start a new trace, linked to the incoming one: for untrusted or platform-injected context.
    LINK = "link"
    #: Drop incoming context altogether.
    IGNORE = "ignore"


def parse_policy(value: PropagationPolicy | str) -> PropagationPolicy:
    try:
        return PropagationPolicy(str(getattr(value, "value", value)).strip().lower())
    except ValueError:
        choices = ", ".join(repr(p.value) for p in PropagationPolicy)
        raise ValueError(f"obs: propagation must be one of {choices}, not {value!r}") from None


def parse_level(value: str) -> str:
    level = value.strip().lower()
    if level == "warning":
        level = "warn"
    if level not in LEVELS:
        raise ValueError(f"obs: level must be one of {', '.join(LEVELS)}, not {value!r}")
    return level


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def env_flag(name: str) -> bool | None:
    """An on/off variable; None when unset, or (said once) when it is neither."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return None
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value not in _FALSE:
        from obs._diagnostics import warn_once

        warn_once(
            f"env:{name}:{raw}",
            "obs: ignoring %s=%r (expected one of on/off, true/false, 1/0, yes/no); "
            "using the default",
            name,
            raw,
        )
        return None
    return False


def env_list(name: str) -> list[str]:
    raw = os.environ.get(name, "")
    return [item.strip() for item in raw.split(",") if item.strip()]


@dataclass(frozen=True)
class Settings:
    """What integrations and the hand-written API read at run time (``obs.settings()``)."""

    propagation: PropagationPolicy = PropagationPolicy.TRUST
    #: Record content that may be private (request bodies, LLM prompts, Burr state).
    capture_content: bool = False
    min_level: str = "trace"
    min_level_num: int = 1
    scrubber: Scrubber | None = field(default=None, compare=False)
    configured: bool = False
    #: Head-sampling ratio of this service; applied to traces a caller marked sampled=0.
    sample_rate: float = 1.0


_runtime = runtime()


def current() -> Settings:
    return _runtime.settings


def install(settings: Settings) -> None:
    _runtime.settings = settings


def install_defaults() -> None:
    """The settings of a process that never called ``configure``."""
    install(Settings(scrubber=Scrubber()))


install_defaults()
