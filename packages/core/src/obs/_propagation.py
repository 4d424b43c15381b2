"""Incoming and outgoing trace context, through one policy.

Integrations never call a propagator directly: they ``extract`` what arrived with a request or
message and ``inject`` into what they send. Both go through the globally configured
propagators (W3C tracecontext + baggage unless ``OTEL_PROPAGATORS`` says otherwise), and
``extract`` applies the propagation policy (trust / link / ignore).

Why a policy: a platform (Cloud Run, some load balancers and API gateways) may inject a
``traceparent`` of its own with sampled=0; trusting it makes a parent-based sampler drop every
span of the service. obs explains that the first time it sees it, and ``propagation="link"``
(or ``OBS_PROPAGATION=link``) solves it: a new, sampled trace linked to the platform's.
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
from opentelemetry.trace import Link, SpanContext
from opentelemetry.util.types import AttributeValue

from obs import _settings
from obs._diagnostics import logger, once
from obs._settings import PropagationPolicy, parse_policy

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
    try:
        extracted = propagate.extract(carrier, context=current, getter=getter)
    except Exception:
        extracted = current
    remote = trace_api.get_current_span(extracted).get_span_context()
    if remote.is_valid and remote.is_remote:
        if chosen is PropagationPolicy.LINK:
            return Incoming(current, (Link(remote, _LINK_ATTRIBUTES),), remote)
        if not remote.trace_flags.sampled and once("propagation:unsampled-parent"):
            logger.warning(
                "obs: a request arrived with trace context marked sampled=0 (trace %s), and "
                "the propagation policy is 'trust', so its spans follow that decision and are "
                "not recorded. If a platform injects this header (Cloud Run, a load balancer, "
                "an API gateway), set propagation='link' in obs.configure() or "
                "OBS_PROPAGATION=link: each request then starts its own sampled trace, linked "
                "to the platform's. This is reported once.",
                trace_api.format_trace_id(remote.trace_id),
            )
        return Incoming(extracted, (), remote)
    # No usable trace context: was a trace header sent at all (the rarer, slower path)?
    bad = tuple(name for name in _present_fields(carrier, getter) if name != "baggage")
    if not bad:  # nothing, or only baggage
        return Incoming(extracted if chosen is PropagationPolicy.TRUST else current)
    # A trace header was sent but could not be read: say so on the span, start fresh.
    if once("propagation:malformed"):
        logger.info(
            "obs: ignored a malformed trace context header (%s); the request gets a new "
            "trace. This is reported once.",
            ", ".join(bad),
        )
    base = extracted if chosen is PropagationPolicy.TRUST else current
    return Incoming(base, attributes={"obs.propagation.malformed": bad})


def inject(
    carrier: CarrierT,
    setter: Setter[CarrierT] = default_setter,
    context: Context | None = None,
) -> None:
    """Write the current (or given) trace context and baggage into ``carrier``. Never raises."""
    try:
        propagate.inject(carrier, context=context, setter=setter)
    except Exception:
        if once("propagation:inject"):
            logger.warning("obs: could not inject trace context", exc_info=True)
