"""Incoming and outgoing trace context, through one policy.

Integrations never call a propagator directly: they ``extract`` what arrived with a request or
message and ``inject`` into what they send. Both go through the globally configured
propagators (W3C tracecontext + baggage unless ``OTEL_PROPAGATORS`` says otherwise), and
``extract`` applies the propagation policy (trust / strict / link / ignore).

Why a policy: a client or a platform (Cloud Run, some load balancers and API gateways) may
send a ``traceparent`` with sampled=0; honouring it makes a parent-based sampler drop every
span of the service. Under the default ``"trust"`` the trace is continued (same trace id, the
caller's span as parent) but the caller's sampled flag is not obeyed: the service applies its
own sampling, so no client can switch its telemetry off. ``"strict"`` obeys the flag (W3C
sampling across a mesh of your own services); ``"link"`` starts a new trace linked to the
incoming one; ``"ignore"`` drops it.

``extract_context`` / ``inject`` are the public, transport-neutral form (``obs.extract``,
``obs.inject``): the context it returns carries what the policy decided (a link, a flag on
the first span), applied by obs's pipeline to the first span started in it.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from opentelemetry import context as context_api
from opentelemetry import propagate
from opentelemetry import trace as trace_api
from opentelemetry.context import Context
from opentelemetry.propagators.textmap import (
    CarrierT,
    Getter,
    Setter,
    default_getter,
    default_setter,
)
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, TraceFlags
from opentelemetry.trace.span import DEFAULT_TRACE_STATE
from opentelemetry.util.types import AttributeValue

from obs import _settings
from obs._diagnostics import logger, once
from obs._lean.context import baggage_entries, current_span
from obs._settings import PropagationPolicy, parse_policy
from obs._traceparent import context_with_parent, w3c_only
from obs._traceparent import header as traceparent_header
from obs._traceparent import parse as parse_traceparent

_NO_ATTRIBUTES: Mapping[str, AttributeValue] = MappingProxyType({})
_LINK_ATTRIBUTES: Mapping[str, AttributeValue] = MappingProxyType({"obs.link.reason": "incoming"})


class Incoming(NamedTuple):
    """What to start a server/consumer span with, after the policy has been applied.

    A named tuple: one is made per request or message, and tuples are the cheapest to build.
    """

    #: Pass as ``context=`` to ``start_span``.
    context: Context
    #: Pass as ``links=`` (the incoming span context under the "link" policy).
    links: tuple[Link, ...] = ()
    #: The valid remote span context that arrived, whatever the policy did with it.
    remote: SpanContext | None = None
    #: Extra span attributes describing what happened (e.g. a malformed header).
    attributes: Mapping[str, AttributeValue] = _NO_ATTRIBUTES


class _HeaderGetter(Getter[Any]):
    """Reads from a mapping whatever its key case, and from ASGI-style header lists."""

    def get(self, carrier: Any, key: str) -> list[str] | None:
        value = carrier.get(key)
        if value is None:
            return None
        if isinstance(value, (bytes, bytearray)):
            value = value.decode("latin-1")
        if isinstance(value, str):
            return [value]
        try:
            return [
                v.decode("latin-1") if isinstance(v, (bytes, bytearray)) else str(v) for v in value
            ]
        except TypeError:
            return [str(value)]

    def keys(self, carrier: Any) -> list[str]:
        return [k if isinstance(k, str) else k.decode("latin-1") for k in carrier]


header_getter: Getter[Any] = _HeaderGetter()


def _present_fields(carrier: Any, getter: Getter[Any]) -> list[str]:
    present = []
    for name in propagate.get_global_textmap().fields:
        try:
            value = getter.get(carrier, name)
        except Exception:
            value = None
        if value:
            present.append(name)
    return present


def _samples(trace_id: int, rate: float) -> bool:
    """This service's own head-sampling decision for a trace (TraceIdRatioBased's rule)."""
    if rate >= 1.0:
        return True
    return (trace_id & 0xFFFFFFFFFFFFFFFF) < round(rate * 0x10000000000000000)


def _decided_here(extracted: Context, remote: SpanContext) -> Context:
    """The caller's span as parent, with this service's sampling decision instead of its own.

    The trace stays joinable (same trace id, the caller's span as remote parent); only the
    sampled flag, which a client must not be able to set for the service, is decided here.
    """
    if not _samples(remote.trace_id, _settings.current().sample_rate):
        return extracted
    if once("propagation:unsampled-parent"):
        logger.info(
            "obs: a request arrived with trace context marked sampled=0 (trace %s); obs "
            "records it anyway, in the same trace, because a caller must not be able to "
            "switch this service's telemetry off. For a mesh of your own services where the "
            "caller's decision should hold, set propagation='strict' (OBS_PROPAGATION=strict). "
            "This is reported once.",
            trace_api.format_trace_id(remote.trace_id),
        )
    sampled = SpanContext(
        remote.trace_id,
        remote.span_id,
        is_remote=True,
        trace_flags=TraceFlags(remote.trace_flags | TraceFlags.SAMPLED),
        trace_state=remote.trace_state,
    )
    return trace_api.set_span_in_context(NonRecordingSpan(sampled), extracted)


#: Getters that read a plain dict by exact key, as ``dict.get`` does (str values).
_DICT_GETTERS: tuple[Getter[Any], ...] = (default_getter, header_getter)


def _canonical(carrier: Any, getter: Getter[Any], current: Context) -> Context | None:
    """The usual request or message, read without the propagator stack: a dict carrier holding
    a canonical ``traceparent`` and neither ``tracestate`` nor ``baggage``, while the global
    propagator is the W3C one (other keys, such as a message's content type, are not read by
    it). None otherwise: the propagator then reads it, with every rule for odd headers."""
    if (
        type(carrier) is not dict
        or getter not in _DICT_GETTERS
        or "tracestate" in carrier
        or "baggage" in carrier
        or not w3c_only()
    ):
        return None
    parent = parse_traceparent(carrier.get("traceparent"))
    return None if parent is None else context_with_parent(parent, current)


def extract(
    carrier: CarrierT,
    getter: Getter[CarrierT] = default_getter,
    policy: PropagationPolicy | str | None = None,
) -> Incoming:
    """Apply the propagation policy to the context in ``carrier``. Never raises.

    The base is the current context, so a request handled in-process inside a span (a test,
    an ASGI app mounted in another) nests under it when nothing arrived.
    """
    current = context_api.get_current()
    chosen = _settings.current().propagation if policy is None else parse_policy(policy)
    if chosen is PropagationPolicy.IGNORE or not carrier:
        return Incoming(current)
    extracted = _canonical(carrier, getter, current)
    if extracted is None:
        try:
            extracted = propagate.extract(carrier, context=current, getter=getter)
        except Exception:
            extracted = current
    remote = current_span(extracted).get_span_context()
    if remote.is_valid and remote.is_remote:
        if chosen is PropagationPolicy.LINK:
            return Incoming(current, (Link(remote, _LINK_ATTRIBUTES),), remote)
        if not remote.trace_flags.sampled:
            if chosen is PropagationPolicy.TRUST:
                return Incoming(_decided_here(extracted, remote), (), remote)
            if once("propagation:unsampled-parent"):
                logger.warning(
                    "obs: a request arrived with trace context marked sampled=0 (trace %s), "
                    "and the propagation policy is 'strict', so its spans follow that "
                    "decision and are not recorded. If a platform or a client outside your "
                    "services sends this header, use the default propagation='trust' (or "
                    "'link'): the service then decides its own sampling. This is reported "
                    "once.",
                    trace_api.format_trace_id(remote.trace_id),
                )
        return Incoming(extracted, (), remote)
    # No usable trace context: was a trace header sent at all (the rarer, slower path)?
    trusted = chosen is PropagationPolicy.TRUST or chosen is PropagationPolicy.STRICT
    bad = tuple(name for name in _present_fields(carrier, getter) if name != "baggage")
    if not bad:  # nothing, or only baggage
        return Incoming(extracted if trusted else current)
    # A trace header was sent but could not be read: say so on the span, start fresh.
    if once("propagation:malformed"):
        logger.info(
            "obs: ignored a malformed trace context header (%s); the request gets a new "
            "trace. This is reported once.",
            ", ".join(bad),
        )
    base = extracted if trusted else current
    return Incoming(base, attributes={"obs.propagation.malformed": bad})


#: Context key under which ``extract_context`` leaves what the policy decided for the first
#: span started in that context (links, attributes); obs's pipeline applies it.
PENDING_KEY = context_api.create_key("obs.propagation.pending")


def extract_context(
    carrier: Any,
    policy: PropagationPolicy | str | None = None,
    getter: Getter[Any] | None = None,
) -> Context:
    """The context to run a received request or message in, after the propagation policy.

    For any transport: ``carrier`` is a mapping of headers (any key case; bytes or str
    values; ASGI-style lists work with the default getter). Attach it (or pass it to
    ``start_span``): the first span started in it continues the trace, or is linked to it,
    as the policy says. Never raises.
    """
    try:
        incoming = extract(carrier, getter or header_getter, policy)
    except Exception as exc:  # a policy name that does not parse is the caller's mistake
        if isinstance(exc, ValueError):
            raise
        return context_api.get_current()
    if incoming.links or incoming.attributes:
        return context_api.set_value(
            PENDING_KEY, (incoming.links, incoming.attributes), incoming.context
        )
    return incoming.context


def inject(
    carrier: CarrierT,
    setter: Setter[CarrierT] = default_setter,
    context: Context | None = None,
) -> None:
    """Write the current (or given) trace context and baggage into ``carrier``. Never raises."""
    try:
        if type(carrier) is dict and setter is default_setter and w3c_only():
            # The usual outgoing call: a span context and nothing else to send. Written here
            # as the W3C propagator writes it, without its layers; anything more goes through it.
            span_context = current_span(context).get_span_context()
            state = span_context.trace_state
            if (
                span_context.is_valid
                and (state is DEFAULT_TRACE_STATE or not state)
                and not baggage_entries(context)
            ):
                carrier["traceparent"] = traceparent_header(span_context)  # type: ignore[index]
                return
        propagate.inject(carrier, context=context, setter=setter)
    except Exception:
        if once("propagation:inject"):
            logger.warning("obs: could not inject trace context", exc_info=True)
