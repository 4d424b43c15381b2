"""Scrubbing: secrets never reach an exporter.

The scrubber runs inside obs's span pipeline (``_pipeline.py``) when a span ends, before any
exporter or user processor sees it, and where values enter obs (``_attributes.py``: long and
structured values are scrubbed before they are cut to size). It looks at:

- keys: an attribute or dict key that names a secret (``_scrub_keys.py``, rules in
  ``_scrub_patterns.py``) gets its value replaced, whatever the value is;
- text: secret shapes inside strings (``_scrub_text.py``: API keys, tokens, ``name=value``,
  card numbers, URL credentials, PEM blocks...), in time linear in the text;
- structure: JSON strings are decoded and walked key by key, without recursion
  (``_scrub_walk.py``).

What it replaced is listed in the ``obs.scrubbed`` attribute, so a user can see why a value is
missing. The replacement names the pattern (``[scrubbed: api key]``), never the secret.

The clean path is the hot one: key verdicts and short clean values are remembered in bounded
caches (keys, routes and templates repeat), and a string that contains no trigger literal and
few digits is judged clean after one lower-casing and a handful of substring searches.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.trace import Link, Status
from opentelemetry.util.types import Attributes, AttributeValue

from obs._attributes import has_lone_surrogates, safe_text
from obs._scrub_cache import BoundedCache
from obs._scrub_keys import KeyNames
from obs._scrub_patterns import KEY_RULES, PII_KINDS, REPLACEMENT
from obs._scrub_text import TextScanner, is_card_number
from obs._scrub_walk import TooLarge, dumps, scrub_structure

__all__ = [
    "DEFAULT_KEY_PATTERNS",
    "IDENTIFIER_KEYS",
    "PATH_KEYS",
    "REPLACEMENT",
    "ScrubCallback",
    "ScrubMatch",
    "Scrubber",
    "ScrubbingOptions",
    "declare_identifier_keys",
    "iter_patterns",
]

#: The key rules (regexes over the normalised key, see ``_scrub_keys.normalise``).
DEFAULT_KEY_PATTERNS: tuple[str, ...] = tuple(rule for _, rule in KEY_RULES)

#: Strings up to this length have their "clean" verdict cached (routes, names, templates repeat).
_CACHE_MAX_LENGTH = 256
#: JSON strings longer than this are scanned as text, not decoded.
_MAX_JSON = 1_000_000
#: JSON inside a JSON string inside ... is decoded this many levels deep, then read as text.
_MAX_JSON_NESTING = 2
#: Attributes holding a URL path, whose token-like segments are scrubbed (see README).
PATH_KEYS = frozenset({"url.path", "url.full", "http.target"})
# A path segment that reads as a token: 24+ URL-safe characters (checked further in
# ``_token_like``). Searched only in ``PATH_KEYS`` values.
_PATH_SEGMENT = re.compile(r"(?<=/)[A-Za-z0-9_\-.~=+%]{24,2048}(?=[/?#;]|\Z)")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_ALNUM_RUN = re.compile(r"[A-Za-z0-9]{16,}")
_CARD_MIN = 10**12


def declare_identifier_keys(*keys: str) -> None:
    """Attributes an integration writes whose values are ids, names or enumerations.

    They are never scrubbed by name and their values are not searched, which keeps unique ids
    off the hot path's slow search (see ``IDENTIFIER_KEYS``).
    """
    IDENTIFIER_KEYS.update(keys)


_UNSEEN = object()

#: Attributes obs itself writes whose values are never secrets.
_SAFE_KEYS = frozenset({"obs.scrubbed", "obs.msg_template", "obs.level", "obs.span_type"})

#: Semantic-convention attributes whose values are identifiers, names or enumerations: their
#: keys are never secret and their values are not searched (a numeric message id is not a card
#: number, and an id is unique per span, so searching it would never hit the cache).
IDENTIFIER_KEYS: set[str] = set(
    {
        "http.request.method",
        "http.route",
        "http.response.status_code",
        "url.scheme",
        "server.address",
        "server.port",
        "client.address",
        "client.port",
        "network.protocol.name",
        "network.protocol.version",
        "network.peer.address",
        "error.type",
        "messaging.system",
        "messaging.operation.type",
        "messaging.operation.name",
        "messaging.destination.name",
        "messaging.destination.template",
        "messaging.message.id",
        "messaging.message.conversation_id",
        "messaging.batch.message_count",
        "messaging.message.body.size",
        "messaging.consumer.group.name",
        "gen_ai.operation.name",
        "gen_ai.provider.name",
        "gen_ai.request.model",
        "gen_ai.response.model",
        "gen_ai.response.id",
        "gen_ai.response.finish_reasons",
        "gen_ai.output.type",
        "code.function.name",
        "obs.level",
        "obs.span_type",
        "obs.level_num",
    }
)


@dataclass(frozen=True)
class ScrubMatch:
    """A value the scrubber is about to replace, handed to the user's callback."""

    path: str
    value: Any
    pattern: str


#: Return ``None`` to scrub the value, anything else to keep that instead.
ScrubCallback = Callable[[ScrubMatch], Any]


@dataclass(frozen=True)
class ScrubbingOptions:
    """How obs scrubs; pass to ``obs.configure(scrubbing=...)`` (``False`` turns it off).

    ``extra_patterns`` are KEY patterns (regexes searched, case-insensitively, in attribute
    keys, dict keys and the ``name`` of ``name=value`` inside text). ``value_patterns`` are
    VALUE patterns: ``{label: regex}``, searched in every string value, each match replaced by
    ``[scrubbed: <label>]`` (their cost is the regex's: keep them free of nested repeats).
    ``pii`` switches on the built-in value patterns for personal data: ``"email"``,
    ``"phone"``. ``path_tokens`` scrubs token-like segments of URL paths (on by default).
    """

    extra_patterns: Sequence[str] = ()
    callback: ScrubCallback | None = None
    #: Attribute keys never scrubbed by name (their values are still searched).
    safe_keys: Sequence[str] = field(default_factory=tuple)
    value_patterns: Mapping[str, str] = field(default_factory=dict)
    pii: Sequence[str] = ()
    path_tokens: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.extra_patterns, str) or isinstance(self.pii, str):
            raise TypeError("extra_patterns and pii take a sequence of strings, not a string")
        unknown = set(self.pii) - set(PII_KINDS)
        if unknown:
            raise ValueError(f"unknown pii kinds {sorted(unknown)}; known: {list(PII_KINDS)}")
        for label, regex in dict(self.value_patterns).items():
            re.compile(regex)  # fail at configure, not at the first span
            if not label:
                raise ValueError("value_patterns need a non-empty label")


def _plain(text: str) -> str:
    """An exact ``str`` (a subclass may override ``lower``, ``__eq__``, ``__hash__``...)."""
    return text if type(text) is str else str.__str__(text)


def _path_start(text: str) -> int:
    """Where the path begins: after ``scheme://authority`` in a full URL (a host is no token)."""
    scheme = text.find("://", 0, 32)
    if scheme < 0:
        return 0
    path = text.find("/", scheme + 3)
    return path if path >= 0 else len(text)


def _token_like(segment: str) -> bool:
    """A path segment that reads as a credential, not as an id or a word.

    Not a UUID, and holding a run of 16+ letters and digits that mixes both and is varied
    (10+ distinct characters): a hex digest or ``secrets.token_urlsafe()`` output passes;
    slugs (``getting-started``, ``report-2024-01-01-final``) and numbers do not.
    """
    if _UUID.fullmatch(segment):
        return False
    for m in _ALNUM_RUN.finditer(segment):
        run = m.group(0)
        if len(set(run)) >= 10 and not run.isdigit() and not run.isalpha():
            return True
    return False


class _Nested:
    """The scrubber as seen from inside a decoded JSON value (one level deeper)."""

    def __init__(self, scrubber: Scrubber, depth: int) -> None:
        self._scrubber = scrubber
        self._depth = depth

    def key_label(self, key: str) -> str | None:
        return self._scrubber.key_pattern(key)

    def scrub_text(self, path: str, text: str, found: list[str]) -> str:
        return self._scrubber._scrub_text(path, text, found, self._depth)

    def scrub_int(self, path: str, value: int, found: list[str]) -> Any:
        return self._scrubber.scrub_int(path, value, found)

    def decide(self, path: str, value: Any, pattern: str) -> Any:
        return self._scrubber._decide(path, value, pattern)

    def is_marker(self, value: object) -> bool:
        return self._scrubber.is_marker(value)


class Scrubber:
    def __init__(self, options: ScrubbingOptions | None = None) -> None:
        options = options or ScrubbingOptions()
        self._callback = options.callback
        self._safe = _SAFE_KEYS | frozenset(options.safe_keys)
        # The shared set, not a copy: integrations may declare theirs after configure.
        self._identifiers = IDENTIFIER_KEYS
        self._names = KeyNames(options.extra_patterns, _Exempt(self._safe, self._identifiers))
        self._key_cache = self._names.cache
        self._text_names = KeyNames(options.extra_patterns, ())
        value_patterns = [(label, re.compile(rx)) for label, rx in options.value_patterns.items()]
        self._scanner = TextScanner(self._text_names, tuple(options.pii), value_patterns)
        self._clean_verdicts: BoundedCache[str, bool] = BoundedCache(10_000)
        self._clean = self._clean_verdicts.data
        self._clean_paths: BoundedCache[str, bool] = BoundedCache(10_000)
        self._path_tokens = options.path_tokens
        self._nested = [_Nested(self, depth) for depth in range(1, _MAX_JSON_NESTING + 2)]

    def is_marker(self, value: object) -> bool:
        """One of obs's own markers (a value scrubbed where it entered obs, checked again)."""
        return isinstance(value, str) and self._scanner.marker.fullmatch(value) is not None

    # -- keys ---------------------------------------------------------------------------
    def key_pattern(self, key: str) -> str | None:
        """The label of the secret an attribute key names (``"password"``), or None. Cached."""
        return self._names.label(_plain(key))

    # -- values -------------------------------------------------------------------------
    def _decide(self, path: str, value: Any, pattern: str) -> Any:
        """The replacement for a matched value (the callback may keep it)."""
        if self._callback is not None:
            try:
                kept = self._callback(ScrubMatch(path, value, pattern))
            except Exception:
                kept = None
            if kept is not None:
                return kept
        return REPLACEMENT.format(pattern)

    def _decide_text(self, path: str, secret: str, pattern: str) -> str:
        kept = self._decide(path, secret, pattern)
        return kept if isinstance(kept, str) else str(kept)

    def scrub_text(self, path: str, text: str, found: list[str]) -> str:
        """Replace secrets inside a string; JSON strings are scrubbed structurally.

        Lone surrogates are replaced (U+FFFD), so every exporter can encode the result.
        """
        return self._scrub_text(path, text, found, 0)

    def _scrub_text(self, path: str, text: str, found: list[str], json_depth: int) -> str:
        text = _plain(text)
        short = len(text) <= _CACHE_MAX_LENGTH
        if short and text in self._clean:
            return text
        if not text.isascii() and has_lone_surrogates(text):
            text = safe_text(text)
        first = text[:1]
        if first in ("{", "[") and len(text) <= _MAX_JSON and json_depth <= _MAX_JSON_NESTING:
            structured = self._scrub_json(path, text, found, json_depth)
            if structured is not None:
                return structured
        if not self._scanner.suspect(text):
            if short:
                self._clean_verdicts.remember(text, True)
            return text
        before = len(found)
        result = self._scanner.scrub(path, text, found, self._decide_text)
        if len(found) == before and short:
            # A look-alike (digits that fail the card check, "token" without a value): clean,
            # and remembered so the next span with the same name or value skips the search.
            self._clean_verdicts.remember(text, True)
        return result

    def _scrub_json(self, path: str, text: str, found: list[str], depth: int) -> str | None:
        """``text`` scrubbed as the JSON value it encodes, or None when it is not JSON."""
        try:
            decoded = json.loads(text)
        except (ValueError, RecursionError):
            # Not JSON, or nested deeper than the interpreter's recursion limit: read as text.
            return None
        if not isinstance(decoded, (dict, list)):
            return None
        before = len(found)
        try:
            cleaned = scrub_structure(self._nested[depth], path, decoded, found)
        except TooLarge:
            del found[before:]
            return None
        if len(found) == before:
            if len(text) <= _CACHE_MAX_LENGTH:
                self._clean_verdicts.remember(text, True)
            return text
        return dumps(cleaned)

    def scrub_int(self, path: str, value: int, found: list[str]) -> Any:
        """A card number held as an integer is replaced; any other number is kept."""
        if value >= _CARD_MIN and is_card_number(str(value)):
            replacement = self._decide(path, value, "card number")
            if replacement is not value:
                found.append(path)
                return replacement
        return value

    def scrub_value(self, path: str, value: Any, found: list[str]) -> Any:
        """A scrubbed copy of any nested Python or JSON value (dicts, lists, tuples, str).

        Walked without recursion; past ``_scrub_walk.MAX_NODES`` nodes the whole value is
        replaced by a marker (it cannot be checked, so it is not kept).
        """
        try:
            return scrub_structure(self._nested[0], path, value, found)
        except TooLarge:
            found.append(path)
            return REPLACEMENT.format("too large to check")

    def scrub_path(self, path: str, text: str, found: list[str]) -> str:
        """Token-like segments of a URL path replaced (``/reset/<token>``)."""
        if not self._path_tokens or len(text) < 25:
            return text
        pieces: list[str] = []
        done = 0
        for m in _PATH_SEGMENT.finditer(text, _path_start(text)):
            segment = m.group(0)
            if not _token_like(segment):
                continue
            replacement = self._decide_text(path, segment, "path token")
            if replacement == segment:
                continue
            found.append(path)
            pieces.append(text[done : m.start()])
            pieces.append(replacement)
            done = m.end()
        if not pieces:
            return text
        pieces.append(text[done:])
        return "".join(pieces)

    def _path_clean(self, text: str) -> bool:
        if not self._path_tokens or len(text) < 25:
            return True
        verdict = self._clean_paths.data.get(text)
        if verdict is None:
            segments = _PATH_SEGMENT.finditer(text, _path_start(text))
            verdict = not any(_token_like(m.group(0)) for m in segments)
            if len(text) <= _CACHE_MAX_LENGTH:
                self._clean_paths.remember(text, verdict)
        return verdict

    def _may_hold_secret(self, text: str) -> bool:
        if len(text) <= _CACHE_MAX_LENGTH and text in self._clean:
            return False
        if not text.isascii() and has_lone_surrogates(text):
            return True
        if text[:1] in ("{", "["):
            return True  # decided by decoding; scrub_text remembers a clean verdict
        if self._scanner.suspect(text):
            return True
        if len(text) <= _CACHE_MAX_LENGTH:
            self._clean_verdicts.remember(text, True)
        return False

    # -- attributes and spans -------------------------------------------------------------
    def _scrub_item(self, key: str, path: str, value: Any, found: list[str]) -> Any:
        if isinstance(value, str):
            new = self.scrub_text(path, value, found)
            if key in PATH_KEYS:
                new = self.scrub_path(path, new, found)
            return new
        if type(value) is int:
            return self.scrub_int(path, value, found)
        return value

    def scrub_attributes(
        self, prefix: str, attributes: Attributes, found: list[str]
    ) -> dict[str, AttributeValue] | None:
        """A scrubbed copy of ``attributes``, or None when nothing needed scrubbing."""
        if not attributes:
            return None
        changed: dict[str, AttributeValue] | None = None
        for key, value in attributes.items():
            new: Any = value
            pattern = self.key_pattern(key)
            path = prefix + key
            if pattern is not None and self.is_marker(value):
                found.append(path)  # replaced where it entered obs: still listed
            elif pattern is not None:
                if value not in ("", None, ()):
                    new = self._decide(path, value, pattern)
                    if new is not value:
                        found.append(path)
                        new = new if isinstance(new, (str, bool, int, float)) else str(new)
            elif key in self._identifiers:
                pass
            elif isinstance(value, (tuple, list)):
                items = tuple(self._scrub_item(key, path, v, found) for v in value)
                if any(a is not b for a, b in zip(items, value, strict=True)):
                    new = _homogeneous(items)
            else:
                new = self._scrub_item(key, path, value, found)
            if new is not value:
                if changed is None:
                    changed = dict(attributes)
                changed[_plain(key)] = new
        return changed

    def _value_clean(self, key: str, value: Any) -> bool:
        if type(value) is str:
            if value in self._clean:
                return key not in PATH_KEYS or self._path_clean(value)
            return not self._may_hold_secret(value) and (
                key not in PATH_KEYS or self._path_clean(value)
            )
        if type(value) is int:
            return value < _CARD_MIN or not is_card_number(str(value))
        # str subclasses are read as plain strings by the slow path
        return not isinstance(value, str)

    def _attributes_clean(self, attributes: Attributes) -> bool:
        """The hot path: two dictionary look-ups per attribute for the usual, clean span."""
        if not attributes:
            return True
        keys = self._key_cache
        identifiers = self._identifiers
        clean = self._clean
        values: Mapping[str, Any] = attributes  # narrowed by ``type(value) is`` below
        for key, value in values.items():
            verdict = keys.get(key, _UNSEEN)
            if verdict is _UNSEEN:
                verdict = self.key_pattern(key)
            if verdict is not None:
                return False
            if key in identifiers:
                continue
            kind = type(value)
            if kind is str:
                if value in clean and (len(value) < 25 or key not in PATH_KEYS):
                    continue  # the usual case: one look-up
            elif kind is int:
                if value < _CARD_MIN:
                    continue
            elif kind is bool or kind is float:
                continue
            elif kind is tuple:
                for item in value:
                    if not self._value_clean(key, item):
                        return False
                continue
            if not self._value_clean(key, value):
                return False
        return True

    def scrub_span(self, span: ReadableSpan) -> ReadableSpan:
        """The span itself when it is clean, else a scrubbed copy carrying ``obs.scrubbed``."""
        # The SDK's public accessors copy (events, links) or wrap (attributes) on every call;
        # the clean check reads the fields directly when they are there, for speed.
        raw_events: Sequence[Event]
        raw_links: Sequence[Link]
        try:
            raw_events, raw_links, raw_attributes = span._events, span._links, span._attributes
            raw_attributes = getattr(raw_attributes, "_dict", raw_attributes)
        except AttributeError:
            raw_events, raw_links, raw_attributes = span.events, span.links, span.attributes
        if (
            not raw_events
            and not raw_links
            and not span.status.description
            and type(span.name) is str
            and (span.name in self._clean or not self._may_hold_secret(span.name))
            and self._attributes_clean(raw_attributes)
        ):
            return span
        found: list[str] = []
        attributes = self.scrub_attributes("", span.attributes, found)
        events = self._scrub_events(span.events, found)
        links = self._scrub_links(span.links, found)
        status = span.status
        if status.description:
            description = self.scrub_text("status.description", status.description, found)
            if description is not status.description:
                status = Status(status.status_code, description)
        name = self.scrub_text("name", span.name, found)
        if (
            not found
            and attributes is None
            and events is None
            and links is None
            and status is span.status
            and name is span.name
        ):
            return span  # (a copy is made for replaced surrogates too, which list nothing)
        merged = dict(attributes if attributes is not None else span.attributes or {})
        if found:
            previous = merged.get("obs.scrubbed")
            paths = tuple(dict.fromkeys(found))
            if isinstance(previous, tuple):
                paths = tuple(dict.fromkeys((*previous, *paths)))
            merged["obs.scrubbed"] = paths
        return ReadableSpan(
            name=name,
            context=span.context,
            parent=span.parent,
            resource=span.resource,
            attributes=merged,
            events=events if events is not None else span.events,
            links=links if links is not None else span.links,
            kind=span.kind,
            status=status,
            start_time=span.start_time,
            end_time=span.end_time,
            instrumentation_scope=span.instrumentation_scope,
        )

    def _scrub_events(self, events: Sequence[Event], found: list[str]) -> list[Event] | None:
        if not events:
            return None
        out: list[Event] | None = None
        for i, event in enumerate(events):
            name = self.scrub_text("events.name", event.name, found)
            prefix = f"events.{name}."
            attributes = self.scrub_attributes(prefix, event.attributes, found)
            if attributes is not None or name is not event.name:
                if out is None:
                    out = list(events)
                out[i] = Event(
                    name,
                    attributes if attributes is not None else event.attributes,
                    event.timestamp,
                )
        return out

    def _scrub_links(self, links: Sequence[Link], found: list[str]) -> list[Link] | None:
        if not links:
            return None
        out: list[Link] | None = None
        for i, link in enumerate(links):
            attributes = self.scrub_attributes("links.", link.attributes, found)
            if attributes is not None:
                if out is None:
                    out = list(links)
                out[i] = Link(link.context, attributes)
        return out


class _Exempt:
    """Keys never scrubbed by name: obs's own and the identifiers (a live view of both)."""

    __slots__ = ("_identifiers", "_safe")

    def __init__(self, safe: frozenset[str], identifiers: set[str]) -> None:
        self._safe = safe
        self._identifiers = identifiers

    def __contains__(self, key: object) -> bool:
        return key in self._safe or key in self._identifiers


def _homogeneous(items: tuple[Any, ...]) -> AttributeValue:
    """OpenTelemetry sequences hold one type: a scrubbed int in a tuple of ints makes all str."""
    kinds = {type(v) for v in items}
    if len(kinds) <= 1:
        return items
    return tuple(str(v) for v in items)


def iter_patterns() -> Iterable[str]:
    """The default key patterns, for documentation and ``obs`` command output."""
    return iter(DEFAULT_KEY_PATTERNS)
