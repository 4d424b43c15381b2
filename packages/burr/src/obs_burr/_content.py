"""Opt-in content: action inputs, results and the state values an action wrote.

Burr state routinely holds chat histories and prompts, so nothing here is recorded unless the
user opted in (``obs.configure(capture_content=True)`` or ``ObsHooks(capture_content=True)``).
Values are converted to attribute values by obs (bounded JSON) and scrubbed by obs's pipeline
when the span ends, like every attribute.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from opentelemetry.util.types import AttributeValue

from obs.instrumentation import to_attribute_value

INPUTS = "burr.inputs"
RESULT = "burr.result"
STATE = "burr.state"


def inputs_value(inputs: Mapping[str, Any]) -> AttributeValue | None:
    # Burr injects ``__tracer``/``__context`` objects into inputs: they are machinery, not data.
    visible = {k: v for k, v in inputs.items() if not k.startswith("__")}
    return to_attribute_value(visible) if visible else None


def state_value(state: Any, keys: Iterable[str]) -> AttributeValue | None:
    """The values of ``keys`` in Burr state (only those present)."""
    try:
        values = {k: state[k] for k in keys if k in state}
    except Exception:  # a custom typing system whose state refuses lookups
        return None
    return to_attribute_value(values) if values else None
