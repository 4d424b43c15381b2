"""OTLP/HTTP protobuf span encoding, written straight to the wire format.

The reference encoder (``opentelemetry.exporter.otlp.proto.common.trace_encoder``) builds one
protobuf message object per span, attribute, value, event and link, hashes every span's
Resource (a ``json.dumps`` of its attributes) to group them, then serializes the tree. On the
export thread that costs 20-45 µs per span, and under saturation it lands on request latency
through the GIL. This module writes the same bytes directly: each field as tag + length +
payload, in field-number order, with the proto3 rules the reference encoder follows (a scalar
at its default is left out, a message field that was set is written even when empty, a
``oneof`` member is written even at its default). The encoded Resource and scope are cached
per object.

Output is byte-identical to ``encode_spans(spans).SerializeToString()`` of the installed
reference encoder; the equivalence suite checks it. Anything this writer does not know (an
integer outside int64, a string with lone surrogates, an unknown value type, a custom
Sequence) raises ``Unsupported``, and the caller encodes the whole batch with the reference
encoder instead, so odd input behaves exactly as it always did.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope


class Unsupported(Exception):
    """A value the direct writer does not encode; the batch goes through the reference."""


_pack_double = struct.Struct("<d").pack
_pack_fixed64 = struct.Struct("<Q").pack
_pack_fixed32 = struct.Struct("<I").pack

_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1
_UINT64_MASK = (1 << 64) - 1

_SMALL_VARINTS = [bytes((i,)) for i in range(128)]


def _varint(value: int) -> bytes:
    if value < 128:
        return _SMALL_VARINTS[value]
    out = bytearray()
    while value > 127:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(tag: bytes, payload: bytes) -> bytes:
    """A length-delimited field: tag, length, payload."""
    n = len(payload)
    return tag + (_SMALL_VARINTS[n] if n < 128 else _varint(n)) + payload


# -- AnyValue / KeyValue (common.proto) ----------------------------------------------------
_EMPTY_ANY = b""
_ANY_TRUE = b"\x10\x01"
_ANY_FALSE = b"\x10\x00"


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:  # lone surrogates: protobuf refuses them too
        raise Unsupported(repr(text)) from exc


@dataclass(frozen=True)
class Dialect:
    """What the installed reference encoder writes, where its releases differ."""

    #: ``ScopeSpans.schema_url`` (newer releases)
    scope_schema_url: bool = True
    #: ``InstrumentationScope.attributes`` (newer releases)
    scope_attributes: bool = True
    #: ``None`` as an empty AnyValue (newer); older ones reject it and drop the attribute
    none_values: bool = True


_NONE_ENCODES = [True]  # set from the dialect of the writer last made (one SDK per process)


def _any_value(value: Any) -> bytes:
    """The AnyValue message body for ``value`` (same type order as the reference encoder)."""
    if value is None:
        if not _NONE_ENCODES[0]:
            raise Unsupported("None values (this SDK's encoder drops them)")
        return _EMPTY_ANY
    if value is True:
        return _ANY_TRUE
    if value is False:
        return _ANY_FALSE
    kind = type(value)
    if kind is str:
        return _field(b"\x0a", _utf8(value))
    if kind is int:
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise Unsupported("integer outside int64")
        return b"\x18" + _varint(value & _UINT64_MASK)
    if kind is float:
        return b"\x21" + _pack_double(value)
    if kind is bytes:
        return _field(b"\x3a", value)
    if kind is tuple or kind is list:
        return _field(b"\x2a", b"".join([_field(b"\x0a", _any_value(v)) for v in value]))
    if kind is dict:
        return _field(
            b"\x32", b"".join([_field(b"\x0a", _key_value(str(k), v)) for k, v in value.items()])
        )
    # Subclasses (an IntEnum, a str subclass, a MappingProxy) and anything else: the reference
    # encoder's isinstance chain decides, not this writer.
    raise Unsupported(f"value of type {kind.__name__}")


def _key_value(key: str, value: Any) -> bytes:
    value_field = _field(b"\x12", _any_value(value))
    # proto3: an empty key is the default and is left out; the value message is always set.
    return _field(b"\x0a", _utf8(key)) + value_field if key else value_field


class AttributeWriter:
    """Encodes attribute mappings, caching the encoded (key, value) pairs that repeat.

    Keys repeat across spans almost always, and so do many values (methods, routes, status
    codes, model names). The cache is keyed by the field tag (span, event, link, resource) and
    by type as well: ``1``, ``1.0`` and ``True`` are equal in Python, not on the wire.
    """

    _MAX_CACHED = 4096
    _MAX_CACHED_STR = 64

    def __init__(self) -> None:
        self._pairs: dict[tuple[bytes, str, type, Any], bytes] = {}

    def attributes(self, tag: bytes, attributes: Mapping[str, Any] | None) -> bytes:
        """Every attribute as a repeated KeyValue field with ``tag``."""
        if not attributes:
            return b""
        pairs = self._pairs
        parts = []
        for key, value in attributes.items():
            kind = type(value)
            if (kind is str and len(value) > self._MAX_CACHED_STR) or kind in (tuple, list, dict):
                parts.append(_field(tag, _key_value(key, value)))
                continue
            cache_key = (tag, key, kind, value)
            try:
                encoded = pairs.get(cache_key)
            except TypeError as exc:  # unhashable odd value
                raise Unsupported("unhashable value") from exc
            if encoded is None:
                if type(key) is not str:
                    raise Unsupported("key is not a str")
                encoded = _field(tag, _key_value(key, value))
                if len(pairs) >= self._MAX_CACHED:
                    pairs.clear()
                pairs[cache_key] = encoded
            parts.append(encoded)
        return b"".join(parts)


# -- spans (trace.proto) -------------------------------------------------------------------
_SPAN_FLAGS_HAS_IS_REMOTE = 0x100
_SPAN_FLAGS_IS_REMOTE = 0x200
_FLAGS_LOCAL = b"\x85\x01" + _pack_fixed32(_SPAN_FLAGS_HAS_IS_REMOTE)
_FLAGS_REMOTE = b"\x85\x01" + _pack_fixed32(_SPAN_FLAGS_HAS_IS_REMOTE | _SPAN_FLAGS_IS_REMOTE)
_LINK_FLAGS_LOCAL = b"\x35" + _pack_fixed32(_SPAN_FLAGS_HAS_IS_REMOTE)
_LINK_FLAGS_REMOTE = b"\x35" + _pack_fixed32(_SPAN_FLAGS_HAS_IS_REMOTE | _SPAN_FLAGS_IS_REMOTE)
#: SpanKind values in the API are 0..4, in OTLP 1..5 (0 is UNSPECIFIED).
_KIND = [b"\x30" + _varint(i + 1) for i in range(5)]


def _trace_state(trace_state: Any) -> bytes:
    if not trace_state:
        return b""
    text = ",".join([f"{key}={value}" for key, value in trace_state.items()])
    return _field(b"\x1a", _utf8(text)) if text else b""


def _status(status: Any) -> bytes:
    body = b""
    description = status.description
    if description:
        body = _field(b"\x12", _utf8(description))
    code = status.status_code.value
    if code:
        body += b"\x18" + _varint(code)
    # Always present: the reference sets the status message on every span.
    return _field(b"\x7a", body)


def _fixed64(tag: bytes, value: int | None) -> bytes:
    if not value:
        return b""
    if type(value) is not int or value < 0 or value > _UINT64_MASK:
        raise Unsupported("timestamp outside uint64")
    return tag + _pack_fixed64(value)


def _count(tag: bytes, value: int) -> bytes:
    if not value:
        return b""
    if value < 0 or value > 0xFFFFFFFF:
        raise Unsupported("count outside uint32")
    return tag + _varint(value)


class SpanWriter:
    """Encodes batches of spans into ``ExportTraceServiceRequest`` bytes.

    One writer per exporter: it keeps the attribute cache and the encoded resources and
    scopes between batches (both are immutable once a provider hands them to spans). Not
    thread-safe; an exporter is called from one export thread.
    """

    def __init__(self, dialect: Dialect | None = None) -> None:
        self._attributes = AttributeWriter()
        self._dialect = dialect = dialect or Dialect()
        self._scope_schema_url = dialect.scope_schema_url
        _NONE_ENCODES[0] = dialect.none_values
        self._resources: dict[int, tuple[Resource, bytes]] = {}
        self._scopes: dict[int, tuple[InstrumentationScope | None, bytes]] = {}

    def encode(self, spans: Sequence[ReadableSpan]) -> bytes:
        # Group as the reference does (by equal Resource, then equal scope, first-seen order),
        # but look each object up by identity first: equality (hashing a Resource) only runs
        # once per distinct object in the batch.
        groups: dict[Resource, dict[InstrumentationScope | None, list[bytes]]] = {}
        by_id: dict[tuple[int, int], list[bytes]] = {}
        keep: list[Any] = []  # the objects whose ids key ``by_id`` stay alive meanwhile
        for span in spans:
            resource = span.resource
            scope = span.instrumentation_scope or None
            ids = (id(resource), id(scope))
            bucket = by_id.get(ids)
            if bucket is None:
                scopes = groups.setdefault(resource, {})
                bucket = scopes.setdefault(scope, [])
                by_id[ids] = bucket
                keep.append((resource, scope))
            bucket.append(self.span(span))
        out = []
        for resource, scopes in groups.items():
            body = [_field(b"\x0a", self._resource(resource))]
            for scope, encoded in scopes.items():
                scope_body = _field(b"\x0a", self._scope(scope)) + b"".join(
                    [_field(b"\x12", s) for s in encoded]
                )
                if self._scope_schema_url and scope is not None and scope.schema_url:
                    scope_body += _field(b"\x1a", _utf8(scope.schema_url))
                body.append(_field(b"\x12", scope_body))
            if resource.schema_url:
                body.append(_field(b"\x1a", _utf8(resource.schema_url)))
            out.append(_field(b"\x0a", b"".join(body)))
        return b"".join(out)

    def _resource(self, resource: Resource) -> bytes:
        cached = self._resources.get(id(resource))
        if cached is not None and cached[0] is resource:
            return cached[1]
        encoded = self._attributes.attributes(b"\x0a", resource.attributes)
        if len(self._resources) > 64:
            self._resources.clear()
        self._resources[id(resource)] = (resource, encoded)
        return encoded

    def _scope(self, scope: InstrumentationScope | None) -> bytes:
        cached = self._scopes.get(id(scope))
        if cached is not None and cached[0] is scope:
            return cached[1]
        encoded = b""
        if scope is not None:
            if scope.name:
                encoded += _field(b"\x0a", _utf8(scope.name))
            if scope.version:
                encoded += _field(b"\x12", _utf8(scope.version))
            if self._dialect.scope_attributes:
                encoded += self._attributes.attributes(b"\x1a", scope.attributes)
        if len(self._scopes) > 256:
            self._scopes.clear()
        self._scopes[id(scope)] = (scope, encoded)
        return encoded

    def span(self, span: ReadableSpan) -> bytes:
        context = span.get_span_context()
        if context is None:
            raise Unsupported("span without context")
        parent = span.parent
        kind = span.kind.value
        parts = [
            b"\x0a\x10" + context.trace_id.to_bytes(16, "big"),
            b"\x12\x08" + context.span_id.to_bytes(8, "big"),
            _trace_state(context.trace_state),
        ]
        if parent:
            parts.append(b"\x22\x08" + parent.span_id.to_bytes(8, "big"))
        name = span.name
        if name:
            parts.append(_field(b"\x2a", _utf8(name)))
        parts.append(_KIND[kind])
        parts.append(_fixed64(b"\x39", span.start_time))
        parts.append(_fixed64(b"\x41", span.end_time))
        parts.append(self._attributes.attributes(b"\x4a", _raw_attributes(span)))
        parts.append(_count(b"\x50", span.dropped_attributes))
        events = _raw(span, "_events", "events")
        if events:
            for event in events:
                parts.append(_field(b"\x5a", self._event(event)))
        parts.append(_count(b"\x60", span.dropped_events))
        links = _raw(span, "_links", "links")
        if links:
            for link in links:
                parts.append(_field(b"\x6a", self._link(link)))
        parts.append(_count(b"\x70", span.dropped_links))
        parts.append(_status(span.status))
        parts.append(_FLAGS_REMOTE if parent is not None and parent.is_remote else _FLAGS_LOCAL)
        return b"".join(parts)

    def _event(self, event: Any) -> bytes:
        body = _fixed64(b"\x09", event.timestamp)
        if event.name:
            body += _field(b"\x12", _utf8(event.name))
        body += self._attributes.attributes(b"\x1a", event.attributes)
        return body + _count(b"\x20", event.dropped_attributes)

    def _link(self, link: Any) -> bytes:
        context = link.context
        body: bytes = (
            b"\x0a\x10"
            + context.trace_id.to_bytes(16, "big")
            + b"\x12\x08"
            + context.span_id.to_bytes(8, "big")
            + self._attributes.attributes(b"\x22", link.attributes)
            + _count(b"\x28", link.dropped_attributes)
        )
        flags: bytes = _LINK_FLAGS_REMOTE if context.is_remote else _LINK_FLAGS_LOCAL
        return body + flags


def _raw(span: ReadableSpan, field: str, public: str) -> Any:
    """A span's events or links without the tuple copy the public accessor makes."""
    value = getattr(span, field, None)
    if value is None:
        return getattr(span, public)
    return value


def _raw_attributes(span: ReadableSpan) -> Mapping[str, Any] | None:
    value = getattr(span, "_attributes", None)
    if value is None:
        return span.attributes
    # An SDK BoundedAttributes keeps a plain dict inside; iterating that avoids its lock.
    inner = getattr(value, "_dict", None)
    if isinstance(inner, dict):
        return inner
    mapping: Mapping[str, Any] = value
    return mapping
