"""The one options contract: a typed dataclass per integration, checked before anything runs.

An integration declares ``options = MyOptions`` (a frozen dataclass subclassing
:class:`IntegrationOptions`). ``Integration.instrument(**given)`` turns ``given`` into that
dataclass with :func:`parse_options`, which checks every name and the type of every value
against the annotations and raises :class:`OptionsError` (one line, naming the integration and
the option) before ``_instrument`` runs, so a bad option never leaves a host half-patched and
reads the same for every integration.

The base fields are the overrides every integration has, resolved here and nowhere else:
``capture_content``, ``propagation``, ``tracer_provider`` and ``meter_provider``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Collection, Mapping
from typing import Any, TypeVar, Union

from opentelemetry import metrics as metrics_api
from opentelemetry import trace as trace_api

from obs._settings import PropagationPolicy, parse_policy
from obs._settings import current as current_settings


class OptionsError(TypeError):
    """A bad option given to an integration (an unknown name, or a value of the wrong type)."""


@dataclasses.dataclass(frozen=True)
class IntegrationOptions:
    """Options every integration accepts; subclass it (frozen) to add the integration's own."""

    #: Record content that may be private; None follows ``obs.configure(capture_content=)``.
    capture_content: bool | None = None
    #: ``"trust"``/``"link"``/``"ignore"`` for this integration; None follows ``configure``.
    propagation: PropagationPolicy | str | None = None
    #: Emit through these providers instead of the global ones.
    tracer_provider: trace_api.TracerProvider | None = None
    meter_provider: metrics_api.MeterProvider | None = None

    def __post_init__(self) -> None:
        if self.propagation is not None and not isinstance(self.propagation, PropagationPolicy):
            try:
                policy = parse_policy(self.propagation)
            except ValueError as exc:
                raise OptionsError(str(exc)) from None
            object.__setattr__(self, "propagation", policy)

    # -- the overrides, resolved in one place ---------------------------------------------
    def capture(self) -> bool:
        """Record content? This integration's option wins over ``obs.configure``'s."""
        if self.capture_content is not None:
            return self.capture_content
        return current_settings().capture_content

    def policy(self) -> PropagationPolicy | None:
        """The propagation policy override for ``extract(..., policy=)`` (None: obs's)."""
        return self.propagation if isinstance(self.propagation, PropagationPolicy) else None

    def effective_policy(self) -> PropagationPolicy:
        """The policy in force for this integration now."""
        return self.policy() or current_settings().propagation

    def tracer(self, scope: str, version: str | None = None) -> trace_api.Tracer:
        provider = self.tracer_provider
        if provider is not None:
            return provider.get_tracer(scope, version)
        return trace_api.get_tracer(scope, version)

    def meter(self, scope: str, version: str | None = None) -> metrics_api.Meter:
        provider = self.meter_provider
        if provider is not None:
            return provider.get_meter(scope, version)
        return metrics_api.get_meter(scope, version or "")


OptionsT = TypeVar("OptionsT", bound=IntegrationOptions)


def _describe(annotation: Any) -> str:
    if annotation is type(None):
        return "None"
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "").replace("collections.abc.", "")


def matches(value: object, annotation: Any) -> bool:
    """Does ``value`` fit ``annotation``? Unions, Literal, classes and generic containers.

    Containers are checked by their outer type and, for sequences and sets, each item; that
    is what an options check needs, not a full type checker.
    """
    if annotation is Any or annotation is object:
        return True
    if annotation is None or annotation is type(None):
        return value is None
    origin = typing.get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        return any(matches(value, arm) for arm in typing.get_args(annotation))
    if origin is typing.Literal:
        return value in typing.get_args(annotation)
    if origin is not None:
        if not isinstance(origin, type) or not isinstance(value, origin):
            return False
        args = typing.get_args(annotation)
        # Items are checked only in collections: iterating anything else could consume it.
        if not isinstance(value, Collection) or isinstance(value, (str, bytes, Mapping)):
            return True  # e.g. os.PathLike[str]: the outer type is what can be checked
        if len(args) != 1:
            return True
        return all(matches(item, args[0]) for item in value)
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(annotation, type):
        return isinstance(value, annotation)
    return True  # an annotation this check does not understand: let the dataclass decide


def parse_options(cls: type[OptionsT], integration: str, given: Mapping[str, Any]) -> OptionsT:
    """``cls(**given)``, with unknown names and wrong types reported as one ``OptionsError``."""
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    hints = typing.get_type_hints(cls)
    for name, value in given.items():
        if name not in fields:
            known = ", ".join(sorted(fields)) or "none"
            raise OptionsError(
                f"obs: integration {integration!r} has no option {name!r} (options: {known})"
            )
        annotation = hints.get(name, Any)
        if not matches(value, annotation):
            raise OptionsError(
                f"obs: integration {integration!r} option {name!r} takes "
                f"{_describe(annotation)}, not {value!r} ({type(value).__name__})"
            )
    try:
        return cls(**given)
    except OptionsError as exc:
        raise OptionsError(f"obs: integration {integration!r}: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise OptionsError(f"obs: integration {integration!r}: {exc}") from None


__all__ = ["IntegrationOptions", "OptionsError", "matches", "parse_options"]
