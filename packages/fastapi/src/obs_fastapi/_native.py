"""Living with FastAPI's native telemetry (FastAPI releases that ship ``fastapi.telemetry``).

obs takes over the app's tracing instead of enriching FastAPI's: FastAPI's server span alone
costs about four bare SDK spans per request (measured in ``benchmarks/bench_fastapi.py``),
more than obs's whole budget. So, for an instrumented app:

- the app's native tracing (and, unless kept, its native metrics and logs) is switched off
  through its telemetry config, and restored exactly on uninstrument;
- obs puts a request-telemetry object of its own in ``scope["fastapi.telemetry"]``, which is
  the hook FastAPI already has: its router reports the full route template to it (included
  routers and mounts resolved), mounted FastAPI sub-apps see the key and do not start a
  second server span, and, when asked, FastAPI's operation spans (``fastapi.dependencies``,
  ``fastapi.endpoint``, ...) and its request data (validated arguments, validation errors)
  are produced through obs's tracer, under obs's span.

Everything here is imported lazily and guarded: a FastAPI without native telemetry simply
has no bridge, and obs falls back to reading ``scope["route"]``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from opentelemetry.trace import Tracer
from opentelemetry.util.types import AttributeValue

from obs.instrumentation import internal_error, to_attribute_value
from obs_fastapi._options import Options

#: The app telemetry settings obs changes, and restores on uninstrument.
_SWITCHED = ("tracing", "metrics", "logs")


@dataclass(frozen=True)
class NativeBridge:
    """What obs needs from ``fastapi.telemetry``; None when FastAPI has no native telemetry."""

    #: ``(span_method, mount_prefix, tracer, data) -> request telemetry`` for the scope.
    make: Callable[[str, str, Tracer | None, Any], Any]
    #: The native request-telemetry class (a native one in the scope means FastAPI runs).
    request_class: type
    #: The context key FastAPI reads request telemetry from (operation spans, request data).
    context_key: str
    data_class: Callable[[], Any]
    #: Endpoint arguments that are framework plumbing, not data (Request, BackgroundTasks...).
    plumbing: tuple[type, ...]


_bridge: list[NativeBridge | None] = []


def bridge() -> NativeBridge | None:
    if not _bridge:
        _bridge.append(_load())
    return _bridge[0]


def _load() -> NativeBridge | None:
    try:
        from fastapi.telemetry import _api
    except ImportError:
        return None
    try:
        from fastapi import BackgroundTasks, Response
        from fastapi.security import SecurityScopes
        from starlette.requests import HTTPConnection

        base: Any = _api._RequestTelemetry

        class ObsRequestTelemetry(base):  # type: ignore[misc]
            """FastAPI's request telemetry, filled by FastAPI, owned by obs's span."""

            def __init__(self, method: str, prefix: str, tracer: Tracer | None, data: Any) -> None:
                # Not the dataclass __init__: only what FastAPI reads, no default factories.
                self.span = None  # obs names its own span; FastAPI must not touch it
                self.span_method = method
                self.tracer = tracer
                self.logger = None
                self.route = None
                self.status_code = None
                self.data = data
                self._mount_prefix = prefix
                self._exceptions: list[BaseException] = []

        return NativeBridge(
            make=ObsRequestTelemetry,
            request_class=base,
            context_key=_api._REQUEST_TELEMETRY_KEY,
            data_class=_api.TelemetryData,
            plumbing=(HTTPConnection, Response, BackgroundTasks, SecurityScopes),
        )
    except Exception as exc:  # a FastAPI whose internals moved: fall back, say so once
        internal_error("obs_fastapi: FastAPI native telemetry bridge", exc)
        return None


def switch_off(app: Any, options: Options) -> dict[str, Any] | None:
    """Turn the app's native tracing (and metrics/logs unless kept) off; returns what it was."""
    config = getattr(app, "_telemetry", None)
    if not isinstance(config, dict) or "tracing" not in config:
        return None
    saved = {key: config[key] for key in _SWITCHED if key in config}
    config["tracing"] = False
    if not options.keep_native_metrics and "metrics" in config:
        config["metrics"] = False
    if not options.keep_native_logs and "logs" in config:
        config["logs"] = False
    return saved


def restore(app: Any, saved: Mapping[str, Any] | None) -> None:
    config = getattr(app, "_telemetry", None)
    if saved and isinstance(config, dict):
        config.update(saved)


def arguments_value(values: Mapping[str, Any], plumbing: tuple[type, ...]) -> AttributeValue:
    """The endpoint's validated arguments as one JSON attribute (scrubbed by the pipeline)."""
    kept = {name: value for name, value in values.items() if not isinstance(value, plumbing)}
    return to_attribute_value(kept)


def errors_value(errors: Any) -> AttributeValue:
    """Pydantic's error list, without the rejected values: each ``input`` is described.

    A 422 answers what the client sent, and what it sent is often a password: a field whose
    name says so only in a spelling no pattern knows (``new_pw``, ``pin``), a ``SecretStr``,
    a whole body under ``loc == ["body"]``. The type, location and message say what was wrong;
    the value itself is replaced by its kind and size (``"<str, 12 chars>"``), so no spelling
    of a field name can make a secret leave with the error.
    """
    out = []
    for error in errors:
        item = dict(error) if isinstance(error, Mapping) else error
        if isinstance(item, dict):
            if "input" in item:
                item["input"] = describe_input(item["input"])
            ctx = item.get("ctx")
            if isinstance(ctx, Mapping) and "error" in ctx:
                # The exception behind a "value_error": its text is already ``msg``.
                item["ctx"] = {k: v for k, v in ctx.items() if k != "error"}
        out.append(item)
    return to_attribute_value(out)


def describe_input(value: Any) -> str | bool | None:
    """What a rejected value was, without the value (booleans and None say nothing)."""
    if value is None or isinstance(value, bool):
        return value
    kind = type(value).__name__
    if isinstance(value, (str, bytes, bytearray)):
        return f"<{kind}, {len(value)} chars>"
    if isinstance(value, Mapping):
        return f"<{kind}, {len(value)} keys>"
    if isinstance(value, (list, tuple, set, frozenset)):
        return f"<{kind}, {len(value)} items>"
    return f"<{kind}>"
