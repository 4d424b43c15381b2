"""The telemetry of one message: its spans, context propagation and metrics, for any broker.

FastStream builds one middleware object per consumed message (``factory(msg, context=...)``)
and one per publish made outside a handler (``factory(None, context=...)``). The factory
(:class:`TelemetryMiddleware`, in ``_middleware.py``) holds what is shared (tracer, metrics,
the broker adapter) in a :class:`_Shared`; the per-message object (:class:`MessageTelemetry`,
here) holds the span of that message.

Order of events for a consumed message, and what obs does at each:

1. ``consume_scope``: extract the producer's context from the headers (through the core's
   propagation policy), start ``process <destination>`` and make it current for the handler;
   the context is restored in a ``finally``, whatever the handler does.
2. replies and ``@publisher`` outputs are published after the handler returned, through the
   same object's ``publish_scope``: their ``send`` spans are children of the process span.
3. ``__aexit__``: the process span ends, unless FastStream is about to settle the message
   with a real ack/nack/reject (RabbitMQ, Redis streams, NATS JetStream, Kafka commits): then
   it ends when that settlement returns, so the span covers the ack (``_settlement.py``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from contextvars import Token
from types import TracebackType
from typing import Any

from faststream._internal.context.repository import ContextRepo
from faststream._internal.middlewares import BaseMiddleware
from faststream.exceptions import IgnoredException
from faststream.message import SourceType, StreamMessage
from faststream.response import PublishCommand
from opentelemetry import context as context_api
from opentelemetry.context import Context
from opentelemetry.metrics import Histogram
from opentelemetry.trace import Link, Span, SpanContext, SpanKind, Tracer

from obs.instrumentation import (
    BoundedCache,
    BoundHistogram,
    PropagationPolicy,
    attach_context,
    context_with_span,
    detach,
    error_type,
    extract,
    header_getter,
    inject,
    internal_error,
    record_exception,
    settings,
)
from obs_faststream import _baggage
from obs_faststream import _semconv as sc
from obs_faststream._adapter import Attributes, BrokerAdapter, body_size
from obs_faststream._metrics import MessagingMetrics
from obs_faststream._settlement import _Settlement, _settles_remotely

_PRODUCER = SpanKind.PRODUCER
_CONSUMER = SpanKind.CONSUMER
_perf = time.perf_counter
#: Destinations remembered per middleware (span name and attribute sets of each); RPC reply
#: queues can make destinations without end, so the cache forgets its oldest ones.
_DESTINATIONS = 1024

#: Policies under which a batch sent by one producer joins that producer's trace.
_JOINING = (PropagationPolicy.TRUST, PropagationPolicy.STRICT)


class _Target:
    """What every span and metric point of one destination shares, built once (per cache)."""

    __slots__ = ("attributes", "destination", "duration", "metric_attributes", "name", "system")

    def __init__(
        self,
        name: str,
        system: str,
        destination: str,
        attributes: Attributes,
        metric_attributes: Attributes,
        histogram: Histogram,
    ) -> None:
        self.name = name
        self.system = system
        #: ``messaging.destination.name`` of the metrics (the template when there is one).
        self.destination = destination
        #: The span's attributes that do not vary per message (copied, never modified).
        self.attributes = attributes
        #: The metric points' attributes when the operation did not fail.
        self.metric_attributes = metric_attributes
        #: The duration histogram bound to those attributes (one cheap record per operation).
        self.duration = BoundHistogram(histogram, metric_attributes)


def _overrides(adapter: BrokerAdapter, method: str) -> bool:
    """Whether ``adapter`` has its own ``method`` (the base class's do nothing: not called)."""
    return getattr(type(adapter), method) is not getattr(BrokerAdapter, method)


class _Shared:
    """What every per-message object of one middleware needs, behind a single attribute."""

    __slots__ = (
        "adapter",
        "consume_attributes",
        "count_messages",
        "headers",
        "metrics",
        "policy",
        "process_targets",
        "publish_attributes",
        "send_targets",
        "system",
        "tracer",
    )

    def __init__(
        self,
        adapter: BrokerAdapter,
        tracer: Tracer,
        metrics: MessagingMetrics,
        counters: bool,
        policy: PropagationPolicy | None = None,
    ) -> None:
        self.adapter = adapter
        #: This middleware's propagation policy override (None: obs's).
        self.policy = policy
        self.system = adapter.system
        self.tracer = tracer
        self.metrics = metrics
        self.count_messages = counters
        # The adapter's per-message hooks, None where they are the base class's no-ops.
        self.publish_attributes = (
            adapter.publish_attributes if _overrides(adapter, "publish_attributes") else None
        )
        self.consume_attributes = (
            adapter.consume_attributes if _overrides(adapter, "consume_attributes") else None
        )
        self.headers = adapter.carries_headers if _overrides(adapter, "carries_headers") else None
        self.send_targets: BoundedCache[str, _Target] = BoundedCache(_DESTINATIONS)
        self.process_targets: BoundedCache[tuple[str, str | None], _Target] = BoundedCache(
            _DESTINATIONS
        )

    def send_target(self, destination: str) -> _Target:
        target = self.send_targets.get(destination)
        if target is None:
            system = self.system
            attributes: Attributes = {
                sc.SYSTEM: system,
                sc.DESTINATION: destination,
                sc.OPERATION_TYPE: sc.SEND,
                sc.OPERATION_NAME: sc.SEND,
            }
            target = _Target(
                f"send {destination}" if destination else "send",
                system,
                destination,
                attributes,
                {
                    sc.SYSTEM: system,
                    sc.DESTINATION: destination,
                    sc.OPERATION_NAME: sc.SEND,
                    sc.OPERATION_TYPE: sc.SEND,
                },
                self.metrics.operation_duration,
            )
            self.send_targets.put(destination, target)
        return target

    def process_target(self, destination: str, template: str | None) -> _Target:
        key = (destination, template)
        target = self.process_targets.get(key)
        if target is None:
            system = self.system
            attributes: Attributes = {
                sc.SYSTEM: system,
                sc.DESTINATION: destination,
                sc.OPERATION_TYPE: sc.PROCESS,
                sc.OPERATION_NAME: sc.PROCESS,
            }
            if template:
                attributes[sc.DESTINATION_TEMPLATE] = template
            named = template or destination
            target = _Target(
                f"process {named}" if named else "process",
                system,
                named,
                attributes,
                {sc.SYSTEM: system, sc.DESTINATION: named, sc.OPERATION_NAME: sc.PROCESS},
                self.metrics.process_duration,
            )
            self.process_targets.put(key, target)
        return target


class MessageTelemetry(BaseMiddleware[Any, Any]):
    """The telemetry of one consumed message, or of one publish made outside a handler."""

    __slots__ = (
        "_baggage",
        "_count",
        "_ctx",
        "_error",
        "_message",
        "_originals",
        "_settling",
        "_shared",
        "_span",
        "_start",
        "_target",
    )

    def __init__(self, msg: Any | None, context: ContextRepo, shared: _Shared) -> None:
        # BaseMiddleware.__init__ only stores these two; set directly (this runs per message).
        self.msg = msg
        self.context = context
        self._shared = shared
        self._span: Span | None = None
        self._ctx: Context | None = None
        self._baggage: Any = None

    # FastStream enters every middleware around a consumed message; nothing to do on entry.
    async def __aenter__(self) -> MessageTelemetry:
        return self

    # -- consuming ------------------------------------------------------------------------
    async def consume_scope(
        self, call_next: Callable[[StreamMessage[Any]], Awaitable[Any]], msg: StreamMessage[Any]
    ) -> Any:
        if msg.source_type is SourceType.RESPONSE:
            # An RPC reply parsed inside ``request()``: the request's send span covers it.
            return await call_next(msg)
        try:
            token = self._begin_process(msg)
        except Exception as exc:
            internal_error("obs_faststream consume", exc)
            return await call_next(msg)
        if token is None:  # the adapter does not trace this kind of message
            return await call_next(msg)
        # FastStream's ``CurrentSpan`` / ``CurrentBaggage`` keep working in handlers.
        repo = self.context
        span_token = repo.set_local("span", self._span)
        baggage_token = repo.set_local("baggage", self._baggage)
        try:
            return await call_next(msg)
        except BaseException as exc:
            self._fail(exc)
            raise
        finally:
            repo.reset_local("baggage", baggage_token)
            repo.reset_local("span", span_token)
            detach(token)

    def _begin_process(self, msg: StreamMessage[Any]) -> Token[Context] | None:
        shared = self._shared
        adapter = shared.adapter
        destination = adapter.consume_destination(msg)
        if destination is None:
            return None
        target = shared.process_target(destination, adapter.consume_template(msg))
        attributes = target.attributes.copy()
        links: tuple[Link, ...] | None
        count = adapter.batch_size(msg)
        if count is None:
            count = 1
            incoming = extract(msg.headers, header_getter, shared.policy)
            parent = incoming.context
            if incoming.links:
                links = incoming.links
            elif incoming.remote is not None:
                # Trusted parent: the conventions still want the creation context as a link.
                links = (Link(incoming.remote),)
            else:
                links = None
            if incoming.attributes:
                attributes.update(incoming.attributes)
            if msg.message_id:
                attributes[sc.MESSAGE_ID] = msg.message_id
        else:
            attributes[sc.BATCH_COUNT] = count
            parent, links = self._batch_context(msg, attributes)
        if msg.correlation_id:
            attributes[sc.CONVERSATION_ID] = msg.correlation_id
        size = body_size(msg.body)
        if size is not None:
            attributes[sc.BODY_SIZE] = size
        if shared.consume_attributes is not None:
            shared.consume_attributes(msg, attributes)
        tracer = shared.tracer
        # Past obs's swappable tracer proxy to the tracer behind it: one call less per span.
        span = getattr(tracer, "_real", tracer).start_span(
            target.name, parent, _CONSUMER, attributes, links
        )
        ctx = context_with_span(span, parent)
        self._span = span
        self._ctx = ctx
        self._message = msg
        self._target = target
        self._count = count
        self._error: BaseException | None = None
        self._originals: tuple[Any, Any, Any] | None = None
        self._settling = False
        self._baggage = _baggage.from_context(ctx)
        self._start = _perf()
        return attach_context(ctx)

    def _batch_context(
        self, msg: StreamMessage[Any], attributes: Attributes
    ) -> tuple[Context, tuple[Link, ...] | None]:
        """Parent and links of a batch: a link to every distinct producer context.

        The conventions keep a batch out of its messages' traces (they may be many); when the
        whole batch came from one send, though, joining that trace is what a user expects.
        """
        # (trace id, span id) -> (span context, extracted context); one link per producer.
        remotes: dict[tuple[int, int], tuple[SpanContext, Context]] = {}
        for headers in msg.batch_headers or (msg.headers,):
            incoming = extract(headers, header_getter, self._shared.policy)
            if incoming.attributes:
                attributes.update(incoming.attributes)
            remote = incoming.remote
            if remote is not None:
                remotes.setdefault((remote.trace_id, remote.span_id), (remote, incoming.context))
        links = tuple(Link(remote) for remote, _ in remotes.values()) or None
        policy = self._shared.policy or settings().propagation
        if len(remotes) == 1 and policy in _JOINING:
            return next(iter(remotes.values()))[1], links
        return context_api.get_current(), links

    def _fail(self, exc: BaseException) -> None:
        """Record a failure on the process span (once; flow-control exceptions are not errors)."""
        span = self._span
        if span is None or self._error is exc or isinstance(exc, IgnoredException):
            return
        self._error = exc
        record_exception(span, exc)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_val: BaseException | None = None,
        exc_tb: TracebackType | None = None,
    ) -> bool:
        if self._span is not None:
            try:
                self._after_processing(exc_val)
            except Exception as exc:
                internal_error("obs_faststream after processing", exc)
                self._finish()
        return False

    def _after_processing(self, exc: BaseException | None) -> None:
        if exc is not None:
            self._fail(exc)  # e.g. a reply that could not be published
        msg = self._message
        if (
            msg.committed is None
            and not isinstance(exc, asyncio.CancelledError)
            and _settles_remotely(msg)
        ):
            # FastStream's acknowledgement middleware (outside ours) settles the message right
            # after this returns: end the span when that settlement returns. If nothing settles
            # it (manual ack policy), the callback scheduled here ends the span instead; it
            # runs only after the acknowledgement middleware has started, never before.
            self._originals = (msg.ack, msg.nack, msg.reject)
            msg.ack = _Settlement(self, msg.ack)  # type: ignore[method-assign]
            msg.nack = _Settlement(self, msg.nack)  # type: ignore[method-assign]
            msg.reject = _Settlement(self, msg.reject)  # type: ignore[method-assign]
            asyncio.get_running_loop().call_soon(self._finish_unless_settling)
            return
        self._finish()

    def _finish_unless_settling(self) -> None:
        if not self._settling:
            self._finish()

    def _finish(self) -> None:
        span = self._span
        if span is None:
            return
        self._span = None  # ends once, whichever path gets here first
        try:
            originals = self._originals
            if originals is not None:
                msg = self._message
                msg.ack, msg.nack, msg.reject = originals  # type: ignore[method-assign]
            span.end()
            shared = self._shared
            error = self._error
            shared.metrics.record_process(
                self._target,
                _perf() - self._start,
                self._count if shared.count_messages else 0,
                None if error is None else error_type(error),
            )
        except Exception as exc:
            internal_error("obs_faststream finish", exc)

    # -- publishing -----------------------------------------------------------------------
    async def publish_scope(
        self, call_next: Callable[[PublishCommand], Awaitable[Any]], cmd: PublishCommand
    ) -> Any:
        try:
            span, token, target, count = self._begin_send(cmd, call_next)
        except Exception as exc:
            internal_error("obs_faststream publish", exc)
            return await call_next(cmd)
        start = _perf()
        error: str | None = None
        try:
            return await call_next(cmd)
        except BaseException as exc:
            error = error_type(exc)
            record_exception(span, exc)
            raise
        finally:
            detach(token)
            span.end()
            shared = self._shared
            try:
                shared.metrics.record_send(
                    target, _perf() - start, count if shared.count_messages else 0, error
                )
            except Exception as exc:
                internal_error("obs_faststream publish metrics", exc)

    def _begin_send(
        self, cmd: PublishCommand, call_next: object
    ) -> tuple[Span, Token[Context], _Target, int]:
        shared = self._shared
        target = shared.send_target(shared.adapter.publish_destination(cmd))
        attributes = target.attributes.copy()
        if cmd.correlation_id:
            attributes[sc.CONVERSATION_ID] = cmd.correlation_id
        count = len(cmd.batch_bodies)
        if count != 1:
            attributes[sc.BATCH_COUNT] = count
        else:
            size = body_size(cmd.body)
            if size is not None:
                attributes[sc.BODY_SIZE] = size
        if shared.publish_attributes is not None:
            shared.publish_attributes(cmd, attributes)
        # A reply or ``@publisher`` output of the message this object handles is a child of
        # its process span (it is published after the handler returned, outside the span's
        # active context); any other publish is a child of whatever is current (None).
        parent = self._ctx
        tracer = shared.tracer
        span = getattr(tracer, "_real", tracer).start_span(
            target.name, parent, _PRODUCER, attributes
        )
        ctx = context_with_span(span, parent)
        bag = self._baggage if parent is not None else self.context.get_local("baggage")
        if bag is not None:
            ctx = _baggage.outgoing(bag, ctx)
        if shared.headers is None or shared.headers(call_next):
            carrier: dict[str, str] = {}
            inject(carrier, context=ctx)
            if carrier:
                # A new dict: the caller's headers object (possibly shared by several
                # publishes) is not modified.
                cmd.headers = {**cmd.headers, **carrier}
        return span, attach_context(ctx), target, count
