"""FastStream's ``CurrentBaggage`` for handlers that use it, kept in step with OTel baggage.

FastStream's own middleware puts a mutable ``Baggage`` object into its context; changes made
to it reach outgoing headers but never the OpenTelemetry context, so nothing else (obs's
span attributes, HTTP clients called from the handler) sees them. obs-faststream puts the
arrived baggage into the OpenTelemetry context (that is what handlers should read, e.g. with
``obs.get_baggage()``), and still offers the ``Baggage`` object for code written against
FastStream's API: what a handler sets or removes on it is applied to the OpenTelemetry
context the outgoing messages are injected from.
"""

from __future__ import annotations

from typing import Any

from opentelemetry import baggage as baggage_api
from opentelemetry.context import Context

from obs.instrumentation import baggage_entries

try:  # FastStream's OpenTelemetry module needs the semantic-conventions package
    from faststream.opentelemetry import Baggage as _FastStreamBaggage
except ImportError:  # pragma: no cover - compatibility object unavailable, nothing to offer
    _FastStreamBaggage = None  # type: ignore[assignment,misc]


if _FastStreamBaggage is not None:

    class TrackedBaggage(_FastStreamBaggage):
        """FastStream's ``Baggage`` that remembers whether the handler changed it."""

        __slots__ = ("changed",)

        def __init__(self, payload: dict[str, Any]) -> None:
            super().__init__(payload)
            self.changed = False

        def set(self, key: str, value: Any) -> None:
            super().set(key, value)
            self.changed = True

        def remove(self, key: str) -> None:
            super().remove(key)
            self.changed = True

        def clear(self) -> None:
            super().clear()
            self.changed = True

        def apply(self, ctx: Context) -> Context:
            """``ctx`` with its baggage replaced by this object's entries."""
            ctx = baggage_api.clear(ctx)
            for key, value in self.get_all().items():
                ctx = baggage_api.set_baggage(key, str(value), ctx)
            return ctx

else:  # pragma: no cover
    TrackedBaggage = None  # type: ignore[assignment,misc]


def _fields_match() -> bool:
    """Whether FastStream's ``Baggage`` keeps exactly the fields ``from_context`` sets."""
    if TrackedBaggage is None:
        return False
    made = TrackedBaggage({"k": "v"})
    return (
        set(getattr(_FastStreamBaggage, "__slots__", ())) == {"_baggage", "_batch_baggage"}
        and made._baggage == {"k": "v"}
        and made._batch_baggage == []
    )


#: Build the object directly (this runs per message), or through its __init__ if FastStream
#: changed what it holds.
_DIRECT = _fields_match()
_new = object.__new__


def from_context(ctx: Context) -> Any:
    """A ``CurrentBaggage`` object holding the baggage of ``ctx`` (None if unavailable)."""
    if TrackedBaggage is None:
        return None
    if not _DIRECT:  # pragma: no cover - a FastStream release that changed Baggage
        return TrackedBaggage(dict(baggage_entries(ctx)))
    bag = _new(TrackedBaggage)
    bag._baggage = dict(baggage_entries(ctx))
    bag._batch_baggage = []
    bag.changed = False
    return bag


def outgoing(bag: object, ctx: Context) -> Context:
    """The context to inject from, with a handler's changes to ``CurrentBaggage`` applied."""
    if TrackedBaggage is not None and isinstance(bag, TrackedBaggage) and bag.changed:
        return bag.apply(ctx)
    return ctx
