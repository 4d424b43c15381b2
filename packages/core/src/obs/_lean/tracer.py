"""obs's tracer provider: the SDK's, making lean spans.

``LeanTracerProvider`` is an SDK ``TracerProvider``: resource, processors, exporters, span
limits, samplers, id generators, ``OTEL_SDK_DISABLED``, fork handling and shutdown are its
own. Its tracers are the SDK's tracers (made by the SDK, so every SDK release builds them its
own way) switched to ``LeanTracer``, whose ``start_span`` makes the same span the SDK would —
same ids, parentage, sampling decision, trace flags and state, attributes after limits — as a
``LeanSpan``. What it does inline instead of through layers:

- the default sampler (``ParentBased(ALWAYS_ON)`` or ``ALWAYS_ON``) is decided in a line;
  any other sampler is called exactly as the SDK calls it;
- the parent is read from the context, and the ``SpanContext`` built, directly;
- span processors whose ``on_start``/``_on_ending`` are the base class's no-ops are not
  called (the SDK calls every one for every span);
- ``start_as_current_span`` is a small slotted context manager, not two generators.

A tracer falls back to the SDK's own ``start_span`` (plain SDK spans) when the SDK's internal
span metrics are on (``OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED``) or when the installed SDK's
``Span`` lacks a method the lean span relies on: ``lean_status()`` says which.
"""

from __future__ import annotations

import functools
import inspect
import random as _random
import threading
from collections.abc import Callable, Sequence
from time import time_ns
from types import TracebackType
from typing import Any

from opentelemetry import context as context_api
from opentelemetry import trace as trace_api
from opentelemetry.sdk.trace import Span, SpanProcessor, SynchronousMultiSpanProcessor
from opentelemetry.sdk.trace import Tracer as SDKTracer
from opentelemetry.sdk.trace import TracerProvider as SDKTracerProvider
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, Decision, ParentBased, Sampler
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags
from opentelemetry.trace.span import DEFAULT_TRACE_STATE
from opentelemetry.trace.status import Status, StatusCode
from opentelemetry.util import types

from obs._lean import context as lean_context
from obs._lean.span import LeanSpan

_RANDOM = int(getattr(TraceFlags, "RANDOM_TRACE_ID", 0))
_SAMPLED = int(TraceFlags.SAMPLED)
#: TraceFlags objects by (sampled, random trace id): made once, shared by every span.
_FLAGS = {
    (sampled, random): TraceFlags(
        (TraceFlags.SAMPLED if sampled else 0) | (_RANDOM if random else 0)
    )
    for sampled in (False, True)
    for random in (False, True)
}
_TRACE_ID_MAX = (1 << 128) - 1
_SPAN_ID_MAX = (1 << 64) - 1
_SPAN_METHODS = ("_new_links", "_add_event", "_add_link", "set_status", "record_exception")
#: The SDK's default id generator's methods as imported: ids are drawn inline only while
#: the tracer's generator is exactly that class with exactly these methods.
_RANDOM_IDS = (RandomIdGenerator.generate_trace_id, RandomIdGenerator.generate_span_id)


def _direct_span_context_ok() -> bool:
    """Whether ``SpanContext`` is still the 6-tuple its constructor builds (checked once)."""
    flags = _FLAGS[True, False]
    built = SpanContext(1, 2, False, flags, DEFAULT_TRACE_STATE)
    direct = tuple.__new__(SpanContext, (1, 2, False, flags, DEFAULT_TRACE_STATE, True))
    return tuple(built) == tuple(direct) and direct.is_valid and direct.trace_flags is flags


_DIRECT_CONTEXT = _direct_span_context_ok()
#: ``SpanContext`` is the SDK's 6-tuple: its trace flags are item 3.
TUPLE_CONTEXT = _DIRECT_CONTEXT
_SDK_IS_ENABLED: Any = getattr(SDKTracer, "_is_enabled", None)  # None on old SDKs
_tuple_new = tuple.__new__
_new_span = object.__new__
_API_SPAN = trace_api.Span
_SPAN_KEY = lean_context.SPAN_KEY
#: The runtime context's ContextVar when reading it directly is safe, else None.
_CONTEXT_VAR = lean_context.context_var()


def _default_sampler(sampler: Sampler) -> str | None:
    """``"always_on"`` / ``"parent_based"`` for the samplers decided inline, else None."""
    if sampler is ALWAYS_ON:
        return "always_on"
    if type(sampler) is ParentBased:
        expected = {
            "_root": ALWAYS_ON,
            "_remote_parent_sampled": ALWAYS_ON,
            "_remote_parent_not_sampled": ALWAYS_OFF,
            "_local_parent_sampled": ALWAYS_ON,
            "_local_parent_not_sampled": ALWAYS_OFF,
        }
        if all(getattr(sampler, field, None) is want for field, want in expected.items()):
            return "parent_based"
    return None


def _does_nothing() -> None:
    pass


_NOTHING = _does_nothing.__code__.co_code


def is_noop(processor: SpanProcessor, method: str) -> bool:
    """Whether a processor's hook is a no-op (the base class's, or a body that is just ``pass``).

    An SDK without the hook at all (``_on_ending`` before 1.3x) never calls it: a no-op too.
    """
    impl = getattr(type(processor), method, None)
    if impl is None or impl is getattr(SpanProcessor, method, None):
        return True
    code = getattr(impl, "__code__", None)
    return code is not None and code.co_code == _NOTHING and not code.co_names


class LeanTracer(SDKTracer):
    """An SDK tracer making lean spans. Not built directly: the provider switches its class."""

    _obs_lean: bool
    _obs_why_not: str
    _obs_sampling: str | None
    _obs_random_root: bool
    _obs_inline_ids: bool
    _obs_ids_for: object
    _obs_enabled: Callable[[], bool] | None
    _obs_config_enabled: bool
    _tracer_config: Any
    _obs_seen: object
    _obs_starters: tuple[SpanProcessor, ...]
    _obs_ending: tuple[SpanProcessor, ...]
    _obs_enders: tuple[SpanProcessor, ...]

    def _obs_setup(self) -> None:
        why_not = ""
        metrics = getattr(self, "_tracer_metrics", None)
        if metrics is not None and type(metrics).__name__ != "NoOpTracerMetrics":
            why_not = "the SDK's internal span metrics are on"
        missing = [m for m in _SPAN_METHODS if not callable(getattr(Span, m, None))]
        if missing:
            why_not = f"this SDK's Span has no {', '.join(missing)}"
        self._obs_lean = not why_not
        self._obs_why_not = why_not
        self._obs_sampling = _default_sampler(self.sampler)
        is_random = getattr(self.id_generator, "is_trace_id_random", None)
        self._obs_random_root = bool(_RANDOM and callable(is_random) and is_random())
        generator = type(self.id_generator)
        self._obs_inline_ids = (
            generator is RandomIdGenerator
            and (
                generator.generate_trace_id,
                generator.generate_span_id,
            )
            == _RANDOM_IDS
        )
        self._obs_ids_for = self.id_generator
        enabled = getattr(self, "_is_enabled", None)
        self._obs_enabled = enabled if callable(enabled) else None
        # The SDK's own ``_is_enabled`` reads one field: read it inline while that is so.
        self._obs_config_enabled = (
            _SDK_IS_ENABLED is not None
            and getattr(type(self), "_is_enabled", None) is _SDK_IS_ENABLED
            and hasattr(self, "_tracer_config")
            and getattr(getattr(_SDK_IS_ENABLED, "__code__", None), "co_names", None)
            == ("_tracer_config", "is_enabled")
        )
        self._obs_seen = None
        self._obs_starters = self._obs_ending = self._obs_enders = ()
        LeanTracer._obs_dispatch(self)  # runs before the class switch

    def _obs_dispatch(self) -> None:
        """Which processors to call at start, when ending and at end (cached per tuple)."""
        active = self.span_processor
        current = getattr(active, "_span_processors", None)
        if type(active) is SynchronousMultiSpanProcessor and isinstance(current, tuple):
            self._obs_starters = tuple(p for p in current if not is_noop(p, "on_start"))
            self._obs_ending = tuple(p for p in current if not is_noop(p, "_on_ending"))
            self._obs_enders = current
        else:  # a concurrent or custom multi-processor: called as the SDK calls it
            self._obs_starters = self._obs_enders = (active,)
            self._obs_ending = () if is_noop(active, "_on_ending") else (active,)
        self._obs_seen = current

    def start_span(
        self,
        name: str,
        context: context_api.Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: types.Attributes = None,
        links: Sequence[trace_api.Link] | None = (),
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> trace_api.Span:
        if not self._obs_lean:
            return super().start_span(
                name,
                context,
                kind,
                attributes,
                links,
                start_time,
                record_exception,
                set_status_on_exception,
            )
        parent: Any
        if _CONTEXT_VAR is not None:  # the parent read straight from the context
            current = (_CONTEXT_VAR.get() if context is None else context).get(_SPAN_KEY)
            if current is None:  # a root: no ``isinstance`` against the API's ABC (slow)
                parent = None
            elif type(current) is LeanSpan:
                parent = current._context
            else:
                parent = current.get_span_context() if isinstance(current, _API_SPAN) else None
        else:
            parent = lean_context.current_span(context).get_span_context()
        if (
            parent is not None
            and type(parent) is not SpanContext
            and not isinstance(parent, SpanContext)
        ):
            raise TypeError("parent_span_context must be a SpanContext or None.")
        if self._obs_config_enabled:  # the SDK's ``_is_enabled``, inline
            disabled = not self._tracer_config.is_enabled
        else:
            enabled = self._obs_enabled
            disabled = enabled is not None and not enabled()
        if disabled:
            disabled_parent: Any = parent  # the SDK passes None through here too
            return NonRecordingSpan(context=disabled_parent)
        # Ids inline only from the very generator checked at set-up, with no method patched
        # on the instance (``mock.patch.object(tracer.id_generator, ...)``).
        generator = self.id_generator
        inline_ids = (
            self._obs_inline_ids and generator is self._obs_ids_for and not generator.__dict__
        )
        parent_flags: Any = 0
        parent_state: Any = DEFAULT_TRACE_STATE
        if parent is None:
            valid = False
        elif _DIRECT_CONTEXT and type(parent) is SpanContext:
            # The 6-tuple its properties read item by item (a call each): read it at once.
            trace_id, _, _, parent_flags, parent_state, valid = parent
        else:
            valid = parent.is_valid
            if valid:
                trace_id = parent.trace_id
                parent_flags, parent_state = parent.trace_flags, parent.trace_state
        if not valid:
            parent = None
            if inline_ids:  # RandomIdGenerator.generate_trace_id, inline
                trace_id = _random.getrandbits(128)
                while not trace_id:
                    trace_id = _random.getrandbits(128)
            else:
                trace_id = generator.generate_trace_id()
            random = self._obs_random_root
        else:
            random = bool(parent_flags & _RANDOM)

        sampling = self._obs_sampling
        if sampling is not None:
            if parent is None:
                sampled, state = True, DEFAULT_TRACE_STATE
            else:
                sampled = sampling == "always_on" or bool(parent_flags & _SAMPLED)
                state = parent_state
            recording = sampled
            span_attributes = attributes if sampled else None
        else:
            result = self.sampler.should_sample(context, trace_id, name, kind, attributes, links)
            sampled = result.decision is Decision.RECORD_AND_SAMPLE
            recording = sampled or result.decision is Decision.RECORD_ONLY
            state = result.trace_state if result.trace_state is not None else DEFAULT_TRACE_STATE
            span_attributes = result.attributes

        if inline_ids:  # RandomIdGenerator.generate_span_id, inline
            span_id = _random.getrandbits(64)
            while not span_id:
                span_id = _random.getrandbits(64)
        else:
            span_id = generator.generate_span_id()
        flags = _FLAGS[sampled, random]
        if _DIRECT_CONTEXT:
            valid = 0 < trace_id <= _TRACE_ID_MAX and 0 < span_id <= _SPAN_ID_MAX
            span_context = _tuple_new(SpanContext, (trace_id, span_id, False, flags, state, valid))
        else:
            span_context = SpanContext(trace_id, span_id, False, flags, state)
        if not recording:
            return NonRecordingSpan(context=span_context)
        if getattr(self.span_processor, "_span_processors", None) is not self._obs_seen:
            self._obs_dispatch()
        span = _new_span(LeanSpan)
        span._obs_init(
            self,
            name,
            span_context,
            parent,
            kind,
            span_attributes,
            links,
            start_time if start_time is not None else time_ns(),
            record_exception,
            set_status_on_exception,
        )
        for processor in self._obs_starters:
            processor.on_start(span, parent_context=context)
        return span

    def start_as_current_span(  # type: ignore[override]
        self,
        name: str,
        context: context_api.Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: types.Attributes = None,
        links: Sequence[trace_api.Link] | None = (),
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
        end_on_exit: bool = True,
    ) -> CurrentSpan:
        return CurrentSpan(
            self,
            (
                name,
                context,
                kind,
                attributes,
                links,
                start_time,
                record_exception,
                set_status_on_exception,
            ),
            end_on_exit,
        )


class CurrentSpan:
    """``with tracer.start_as_current_span(...)``: the SDK's semantics in one small object.

    As the SDK's (``trace.use_span``): the span is current inside the block; an ``Exception``
    (not a ``BaseException`` such as ``GeneratorExit``) is recorded and sets an ERROR status
    ``"Type: message"`` unless switched off; the span ends on exit unless ``end_on_exit`` is
    False; and it also decorates sync and async functions, a fresh span per call.
    """

    __slots__ = ("_args", "_end_on_exit", "_span", "_token", "_tracer")

    def __init__(self, tracer: LeanTracer, args: tuple[Any, ...], end_on_exit: bool) -> None:
        self._tracer = tracer
        self._args = args
        self._end_on_exit = end_on_exit

    def __enter__(self) -> trace_api.Span:
        span = self._tracer.start_span(*self._args)
        self._span = span
        self._token = lean_context.attach_span(span)
        return span

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        lean_context.detach(self._token)
        span = self._span
        try:
            if isinstance(exc, Exception) and span.is_recording():
                if self._args[6]:  # record_exception
                    span.record_exception(exc)
                if self._args[7]:  # set_status_on_exception
                    span.set_status(
                        Status(StatusCode.ERROR, description=f"{type(exc).__name__}: {exc}")
                    )
        finally:
            if self._end_on_exit:
                span.end()

    def _recreate_cm(self) -> CurrentSpan:
        return CurrentSpan(self._tracer, self._args, self._end_on_exit)

    def __call__(self, func: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with self._recreate_cm():
                    return await func(*args, **kwargs)

            return async_wrapper

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self._recreate_cm():
                return func(*args, **kwargs)

        return wrapper


_SWITCH_LOCK = threading.Lock()


class LeanTracerProvider(SDKTracerProvider):
    """The SDK's tracer provider, handing out ``LeanTracer``s."""

    def get_tracer(
        self,
        instrumenting_module_name: str,
        instrumenting_library_version: str | None = None,
        schema_url: str | None = None,
        attributes: types.Attributes = None,
    ) -> trace_api.Tracer:
        tracer = super().get_tracer(
            instrumenting_module_name, instrumenting_library_version, schema_url, attributes
        )
        # Exactly the SDK's Tracer (not a NoOpTracer under OTEL_SDK_DISABLED, not a subclass
        # someone else made): made lean in place, so every SDK release builds it its own way.
        if type(tracer) is SDKTracer:
            with _SWITCH_LOCK:
                if type(tracer) is SDKTracer:
                    LeanTracer._obs_setup(tracer)  # type: ignore[arg-type]
                    tracer.__class__ = LeanTracer
        return tracer


def lean_status(tracer: trace_api.Tracer) -> str:
    """``"lean"``, or why this tracer makes plain SDK spans."""
    real: Any = getattr(tracer, "_real", tracer)  # through obs's swappable proxy
    if not isinstance(real, LeanTracer):
        return f"not a lean tracer ({type(real).__name__})"
    return "lean" if real._obs_lean else real._obs_why_not
