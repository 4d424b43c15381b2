"""``obs.baggage(tenant="acme")``: values that travel with the trace.

Entries go into OpenTelemetry baggage (so they propagate to downstream services and
messages through the configured propagators) and obs's pipeline copies them onto every span
started inside the block.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import baggage as baggage_api
from opentelemetry import context as context_api

from obs._attributes import to_attribute_value


@contextmanager
def baggage(**values: Any) -> Iterator[None]:
    ctx = context_api.get_current()
    for key, value in values.items():
        text = value if isinstance(value, str) else str(to_attribute_value(value))
        ctx = baggage_api.set_baggage(key, text, ctx)
    token = context_api.attach(ctx)
    try:
        yield
    finally:
        context_api.detach(token)


def get_baggage() -> dict[str, object]:
    """The baggage of the current context."""
    return dict(baggage_api.get_all())
