"""Friendly misuse at the public boundary: check what callers pass, read ``OBS_*`` forgivingly.

- Every argument of ``configure`` is checked against its annotation before anything is built;
  a wrong type is a ``TypeError`` that names the argument and what it takes.
- ``scrubbing=["national_id"]`` means "these extra patterns" (the obvious reading), and each
  pattern must compile (a ``ValueError`` naming it otherwise).
- A bad ``OBS_*`` value (``OBS_SAMPLE_RATE=abc``) must not stop a service from starting: it is
  reported once and the default is used.
"""

from __future__ import annotations

import functools
import os
import re
import typing
from collections.abc import Callable, Mapping
from typing import Any

from obs._diagnostics import warn_once
from obs._options import matches
from obs._scrubbing import ScrubbingOptions
from obs._settings import LEVELS, PropagationPolicy, parse_level, parse_policy
from obs._store import DEFAULT_MAX_AGE_S, DEFAULT_MAX_SIZE_MB


def _describe(annotation: Any) -> str:
    text = str(annotation) if not isinstance(annotation, type) else annotation.__name__
    for prefix in ("typing.", "collections.abc.", "opentelemetry.sdk.", "opentelemetry."):
        text = text.replace(prefix, "")
    return text


@functools.cache
def _hints(function: Callable[..., Any]) -> dict[str, Any]:
    return typing.get_type_hints(function)


def check_arguments(where: str, function: Callable[..., Any], given: Mapping[str, Any]) -> None:
    """Raise a ``TypeError`` naming the first argument whose value does not fit its annotation."""
    hints = _hints(function)
    for name, value in given.items():
        annotation = hints.get(name)
        if annotation is not None and not matches(value, annotation):
            raise TypeError(
                f"{where}: {name} takes {_describe(annotation)}, "
                f"not {value!r} ({type(value).__name__})"
            )


def scrubbing_option(value: object) -> object:
    """A list of patterns means extra patterns; each must be a valid regular expression."""
    if isinstance(value, (list, tuple)) and all(isinstance(p, str) for p in value):
        value = ScrubbingOptions(extra_patterns=tuple(value))
    if isinstance(value, ScrubbingOptions):
        for pattern in value.extra_patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(
                    f"obs.configure: scrubbing pattern {pattern!r} is not a valid regular "
                    f"expression ({exc})"
                ) from None
    return value


def _env_bad(name: str, raw: str, expected: str, default: object) -> None:
    warn_once(
        f"env:{name}:{raw}",
        "obs: ignoring %s=%r (%s); using the default (%s)",
        name,
        raw,
        expected,
        default,
    )


def env_number(
    name: str, low: float | None = None, high: float | None = None, default: object = "unset"
) -> float | None:
    """``float(os.environ[name])``, or None (the caller's default) when unset or invalid."""
    raw = (os.environ.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        _env_bad(name, raw, "not a number", default)
        return None
    if value != value or (low is not None and value < low) or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        _env_bad(name, raw, f"must be {bounds}", default)
        return None
    return value


def _env_choice(name: str, parse: Callable[[str], Any], default: Any) -> Any:
    raw = (os.environ.get(name) or "").strip()
    if not raw:
        return None
    try:
        return parse(raw)
    except ValueError as exc:
        _env_bad(name, raw, str(exc).removeprefix("obs: "), getattr(default, "value", default))
        return default


def configure_arguments(given: dict[str, Any]) -> dict[str, Any]:
    """``configure``'s arguments checked, with ``OBS_*`` values that do not parse replaced.

    Returns the arguments to use: an argument left at None whose environment variable is
    invalid gets the default explicitly, so the variable is not read (and does not fail) later.
    """
    from obs._config import configure

    out = dict(given)
    out["scrubbing"] = scrubbing_option(out.get("scrubbing", True))
    check_arguments("obs.configure", configure, out)
    if out.get("sample_rate") is None:
        rate = env_number("OBS_SAMPLE_RATE", 0.0, 1.0, default=1.0)
        if rate is None and (os.environ.get("OBS_SAMPLE_RATE") or "").strip():
            rate = 1.0  # invalid: the default, everything sampled
        out["sample_rate"] = rate
    if out.get("propagation") is None:
        out["propagation"] = _env_choice("OBS_PROPAGATION", parse_policy, PropagationPolicy.TRUST)
    if out.get("min_level") is None:
        out["min_level"] = _env_choice("OBS_MIN_LEVEL", parse_level, next(iter(LEVELS)))
    for option, env, default in (
        ("store_max_age_s", "OBS_STORE_MAX_AGE_S", DEFAULT_MAX_AGE_S),
        ("store_max_size_mb", "OBS_STORE_MAX_SIZE_MB", DEFAULT_MAX_SIZE_MB),
    ):
        if out.get(option) is None and (os.environ.get(env) or "").strip():
            # Given explicitly either way, so the store does not read the variable again.
            out[option] = env_number(env, 0.0, default=default) or float(default)
    return out


__all__ = ["check_arguments", "configure_arguments", "env_number", "scrubbing_option"]
