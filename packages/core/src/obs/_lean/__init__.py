"""Lean spans: obs's tracer provider, on the SDK's, making spans at a fraction of the cost.

See ``tracer.py`` for what is done inline and ``span.py`` for what the span keeps.
"""

from obs._lean.span import LeanSpan
from obs._lean.tracer import CurrentSpan, LeanTracer, LeanTracerProvider, lean_status

__all__ = ["CurrentSpan", "LeanSpan", "LeanTracer", "LeanTracerProvider", "lean_status"]
