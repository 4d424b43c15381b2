"""The lean span: an SDK ``Span`` (so an API span and a ``ReadableSpan``) at a fraction of the cost.

It subclasses the SDK's ``Span`` and keeps its private fields (``_name``, ``_context``,
``_attributes``, ``_events``, ``_links``, ``_status``, ``_start_time``, ``_end_time``,
``_lock``, ``_limits``, ...), so the SDK's own methods run on it unchanged: ``set_status``
(with its description rules), ``update_name``, ``add_event``, ``add_link``,
``record_exception``, ``__exit__``, ``to_json``, the ``ReadableSpan`` properties, and the
"ended span" warnings. What differs is what made the SDK span expensive:

- attributes live in a plain dict (``_lean.attributes`` applies the SDK's limits to it) and
  the drop count in a field;
- events and links start as a tuple (the shared empty one, or the links given at start,
  validated and limited as the SDK does, see ``_links``); the SDK's bounded list is created on
  the first ``add_event``/``add_link``;
- resource, scope, limits and processors are the tracer's, referenced, not rebuilt;
- at ``end`` the span itself (now frozen: every mutator is a no-op with the SDK's warning) is
  handed to the processors instead of a ``ReadableSpan`` copy.

``__slots__`` keeps every field out of a per-span ``__dict__``: a queued span is ~0.5 KB.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from time import time_ns
from typing import TYPE_CHECKING, Any

from opentelemetry import trace as trace_api
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.trace import EventBase, ReadableSpan, Span, SpanLimits
from opentelemetry.sdk.util import BoundedList
from opentelemetry.trace.status import Status, StatusCode
from opentelemetry.util import types

from obs._lean.attributes import set_many, set_one

if TYPE_CHECKING:
    from obs._lean.tracer import LeanTracer

#: The SDK's logger, so "ended span" warnings read and filter exactly as the SDK's.
_sdk_logger = logging.getLogger("opentelemetry.sdk.trace")

_UNSET = Status(StatusCode.UNSET)
_NO_ITEMS: tuple[Any, ...] = ()


class LeanSpan(Span):
    __slots__ = (
        "_attributes",
        "_context",
        "_dropped_attributes",
        "_end_time",
        "_events",
        "_instrumentation_info",
        "_instrumentation_scope",
        "_kind",
        "_links",
        "_lock",
        "_name",
        "_obs_tracer",
        "_parent",
        "_record_exception",
        "_resource",
        "_sampler",
        "_set_status_on_exception",
        "_span_processor",
        "_start_time",
        "_status",
    )

    def __init__(self, *args: Any) -> None:
        self._obs_init(*args)

    def _obs_init(
        self,
        tracer: LeanTracer,
        name: str,
        context: trace_api.SpanContext,
        parent: trace_api.SpanContext | None,
        kind: trace_api.SpanKind,
        attributes: types.Attributes,
        links: Sequence[trace_api.Link] | None,
        start_time: int,
        record_exception: bool,
        set_status_on_exception: bool,
    ) -> None:
        # The SDK's __init__ is skipped on purpose: everything it builds is set here. The
        # tracer calls this on ``object.__new__(LeanSpan)``: the SDK's ``Span.__new__`` (a
        # guard against direct construction, with *args/**kwargs) costs more than the rest.
        self._obs_tracer = tracer
        self._name = name
        self._context = context
        self._parent = parent
        self._kind = kind
        self._start_time = start_time
        self._end_time: int | None = None
        self._status = _UNSET
        self._lock = threading.Lock()
        limits: SpanLimits = tracer._span_limits
        self._resource = tracer.resource
        self._instrumentation_scope = tracer._instrumentation_scope
        self._instrumentation_info = tracer.instrumentation_info
        self._span_processor = tracer.span_processor
        self._sampler = tracer.sampler
        self._record_exception = record_exception
        self._set_status_on_exception = set_status_on_exception
        self._events = _NO_ITEMS
        self._attributes: dict[str, Any] = {}
        self._dropped_attributes = 0
        if attributes:
            self._dropped_attributes = set_many(
                self._attributes,
                attributes,
                limits.max_span_attributes,
                limits.max_span_attribute_length,
                0,
            )
        if not links:
            self._links = _NO_ITEMS
        elif LINK_LAYOUT:
            self._links = _links(links, limits)
        else:  # the API's Link changed shape: the SDK's own way
            self._links = self._new_links(links)

    # -- what the SDK's span keeps per span, read from the tracer ------------------------
    _trace_config = None
    _record_end_metrics = None

    @property
    def _limits(self) -> SpanLimits:
        return self._obs_tracer._span_limits

    # -- attributes ---------------------------------------------------------------------
    @property
    def dropped_attributes(self) -> int:
        return self._dropped_attributes

    def set_attribute(self, key: str, value: types.AnyValue) -> None:
        if self._end_time is not None:
            _sdk_logger.warning("Setting attribute on ended span.")
            return
        limits = self._limits
        attributes = self._attributes
        if _plain(key, value, limits.max_span_attribute_length):
            # The common case (a short str or a number): inline, as the SDK would store it.
            if key in attributes:
                del attributes[key]
                attributes[key] = value
                return
            max_count = limits.max_span_attributes
            if max_count is None or len(attributes) < max_count:
                attributes[key] = value
                return
        self._dropped_attributes = set_one(
            attributes,
            key,
            value,
            limits.max_span_attributes,
            limits.max_span_attribute_length,
            self._dropped_attributes,
        )

    def set_attributes(self, attributes: Mapping[str, types.AnyValue]) -> None:
        if self._end_time is not None:
            _sdk_logger.warning("Setting attribute on ended span.")
            return
        limits = self._limits
        self._dropped_attributes = set_many(
            self._attributes,
            attributes,
            limits.max_span_attributes,
            limits.max_span_attribute_length,
            self._dropped_attributes,
        )

    def update_name(self, name: str) -> None:
        # The SDK's method is wrapped by its ended-span check (a decorator frame per call):
        # the same lock, check and warning, inline. Integrations rename every server span.
        with self._lock:
            if self._end_time is None:
                self._name = name
                return
        _sdk_logger.warning("Tried calling %s on an ended span.", "update_name")

    # -- events and links: the SDK's methods, with the bounded lists made on first use ---
    def _add_event(self, event: EventBase) -> None:
        ended = False
        with self._lock:
            if self._end_time is None:
                events: Any = self._events
                if events is _NO_ITEMS:
                    events = self._events = BoundedList(self._limits.max_events)
                events.append(event)
            else:
                ended = True
        if ended:
            _sdk_logger.warning("Tried calling %s on an ended span.", "_add_event")

    def _add_link(self, link: trace_api.Link) -> None:
        ended = False
        with self._lock:
            if self._end_time is None:
                links: Any = self._links
                if type(links) is tuple:  # none yet, or the ones the span started with
                    links = self._links = BoundedList.from_seq(self._limits.max_links, links)
                links.append(link)
            else:
                ended = True
        if ended:
            _sdk_logger.warning("Tried calling %s on an ended span.", "_add_link")

    # -- ending -------------------------------------------------------------------------
    def end(self, end_time: int | None = None) -> None:
        with self._lock:
            if self._end_time is not None:
                ended_twice = True
            else:
                ended_twice = False
                self._end_time = end_time if end_time is not None else time_ns()
        if ended_twice:
            _sdk_logger.warning("Calling end() on an ended span.")
            return
        # The tracer's ``_obs_on_end``, inlined: one call less on every span.
        tracer = self._obs_tracer
        if getattr(tracer.span_processor, "_span_processors", None) is not tracer._obs_seen:
            tracer._obs_dispatch()
        for processor in tracer._obs_ending:
            processor._on_ending(self)
        for processor in tracer._obs_enders:
            processor.on_end(self)

    def _readable_span(self) -> ReadableSpan:
        return self  # ended and frozen: it is its own read-only view

    def __repr__(self) -> str:
        return f'{type(self).__name__}(name="{self._name}", context={self._context})'


#: The attributes of a link given none, per (max_link_attributes, max_attribute_length): the
#: SDK gives each such link its own empty, immutable ``BoundedAttributes``; an empty immutable
#: one can be shared (nothing can be added to it, and its drop count stays 0).
_EMPTY_LINK_ATTRIBUTES: dict[tuple[int | None, int | None], BoundedAttributes] = {}


def _link_layout() -> bool:
    """Does the API's ``Link`` keep its attributes in ``_attributes``, read by ``attributes``?

    ``_links`` sets that field, as the SDK's ``_new_links`` does; where it is not so, spans
    take the SDK's method (``tests/lean/test_sdk_internals.py`` pins both).
    """
    try:
        link = trace_api.Link(trace_api.INVALID_SPAN_CONTEXT)
        marker = BoundedAttributes(1, None, immutable=True)
        link._attributes = marker
        return link.attributes is marker and callable(getattr(Span, "_new_links", None))
    except Exception:
        return False


LINK_LAYOUT = _link_layout()


def _links(links: Sequence[trace_api.Link], limits: SpanLimits) -> Sequence[trace_api.Link]:
    """The SDK's ``Span._new_links``, the same links kept, the same way, for less.

    As the SDK: a link is kept when it is truthy and its context is valid (or carries
    attributes or a trace state); its attributes are replaced by an immutable
    ``BoundedAttributes`` under the link limits. What the SDK pays per link that this does not:
    a new empty ``BoundedAttributes`` (a lock and an ordered dict) for a link without
    attributes (the usual consumer's link to its message's creation context), and a
    ``BoundedList`` (a lock and a deque) when no link is dropped: a tuple reads the same
    through ``links`` and ``dropped_links`` (0), and the first ``add_link`` turns it into
    the SDK's bounded list.
    """
    max_attributes = limits.max_link_attributes
    max_length = limits.max_attribute_length
    valid: list[trace_api.Link] = []
    for link in links:
        if not link:
            continue
        context = link.context
        attributes = link.attributes
        if not (context and (context.is_valid or attributes or context.trace_state)):
            continue
        if attributes:
            link._attributes = BoundedAttributes(
                max_attributes, attributes, max_value_len=max_length, immutable=True
            )
        else:
            empty = _EMPTY_LINK_ATTRIBUTES.get((max_attributes, max_length))
            if empty is None:
                empty = BoundedAttributes(
                    max_attributes, None, max_value_len=max_length, immutable=True
                )
                _EMPTY_LINK_ATTRIBUTES[(max_attributes, max_length)] = empty
            link._attributes = empty
        valid.append(link)
    max_links = limits.max_links
    if max_links is None or len(valid) <= max_links:
        return tuple(valid)
    return BoundedList.from_seq(max_links, valid)


def _plain(key: Any, value: Any, max_length: int | None) -> bool:
    kind = type(value)
    if kind is str:
        return type(key) is str and bool(key) and (max_length is None or len(value) <= max_length)
    return (kind is int or kind is float or kind is bool) and type(key) is str and bool(key)
