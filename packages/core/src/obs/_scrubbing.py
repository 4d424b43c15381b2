"""Scrubbing: secrets never reach an exporter.

The scrubber runs inside obs's span pipeline (``_pipeline.py``) when a span ends, before any
exporter or user processor sees it, and where values enter obs (``_attributes.py``: long and
structured values are scrubbed before they are cut to size). It looks at:

- keys: an attribute or dict key that names a secret (``_scrub_keys.py``, rules in
  ``_scrub_patterns.py``) gets its value replaced, whatever the value is;
- text: secret shapes inside strings (``_scrub_text.py``: API keys, tokens, ``name=value``,
  card numbers, URL credentials, PEM blocks...), in time linear in the text;
- structure: JSON strings are decoded and walked key by key, without recursion
  (``_scrub_walk.py``);
- URL paths: token-like segments (``_scrub_paths.py``); card numbers (``_scrub_cards.py``).

Options, the callback and identifier keys are in ``_scrub_options.py``.

What it replaced is listed in the ``obs.scrubbed`` attribute, so a user can see why a value is
missing. The replacement names the pattern (``[scrubbed: api key]``), never the secret.

The clean path is the hot one: key verdicts and short clean values are remembered in bounded
caches (keys, routes and templates repeat), and a string that contains no trigger literal and
no card-like digit run is judged clean after one pass for the literals and one for the digits.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.trace import Link, Status
from opentelemetry.util.types import Attributes, AttributeValue

from obs._attributes import has_lone_surrogates, safe_text
from obs._lean.span import LeanSpan
from obs._scrub_cache import BoundedCache
from obs._scrub_cards import is_card_number
from obs._scrub_keys import KeyNames
from obs._scrub_options import (
    IDENTIFIER_KEYS,
    SAFE_KEYS,
    ScrubbingOptions,
    ScrubCallback,
    ScrubMatch,
    declare_identifier_keys,
)
from obs._scrub_paths import PATH_KEYS, PathTokens
from obs._scrub_patterns import KEY_RULES, REPLACEMENT
from obs._scrub_text import TextScanner
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
_CARD_MIN = 10**12


def _plain(text: str) -> str:
    """An exact ``str`` (a subclass may override ``lower``, ``__eq__``, ``__hash__``...)."""
    return text if type(text) is str else str.__str__(text)


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
        self._safe = SAFE_KEYS | frozenset(options.safe_keys)
        # The shared set, not a copy: integrations may declare theirs after configure.
        self._identifiers = IDENTIFIER_KEYS
        self._names = KeyNames(options.extra_patterns, _Exempt(self._safe, self._identifiers))
        # attribute key -> it names no secret and holds none (one look-up on the clean path)
        self._key_verdicts: BoundedCache[str, bool] = BoundedCache(10_000)
        self._key_cache = self._key_verdicts.data
        self._text_names = KeyNames(options.extra_patterns, ())
        value_patterns = [(label, re.compile(rx)) for label, rx in options.value_patterns.items()]
        self._scanner = TextScanner(self._text_names, tuple(options.pii), value_patterns)
        self._clean_verdicts: BoundedCache[str, bool] = BoundedCache(10_000)
        self._clean = self._clean_verdicts.data
        self._paths = PathTokens(options.path_tokens)
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
                new = self._paths.scrub(path, new, found, self._decide_text)
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
            out_key = self._scrub_key(prefix, key, found)
            path = prefix + out_key  # obs.scrubbed lists paths: never a secret in one
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
            if new is not value or out_key is not key:
                if changed is None:
                    changed = dict(attributes)
                if out_key is not key:
                    del changed[key]
                changed[_plain(out_key)] = new
        return changed

    def _attribute_key_clean(self, key: str) -> bool:
        clean = self.key_pattern(key) is None and (
            key in self._clean or not self._may_hold_secret(key) or self._scanned_clean(key)
        )
        if len(key) <= _CACHE_MAX_LENGTH:
            self._key_verdicts.remember(key, clean)
        return clean

    def _scanned_clean(self, key: str) -> bool:
        """A key that looks like it may hold a secret (``gen_ai.usage.input_tokens`` says
        "token"), scanned as ``_scrub_key`` would: clean if the scan finds nothing. Decided
        once: otherwise every span carrying the key would be walked attribute by attribute."""
        hits: list[str] = []
        self.scrub_text("", key, hits)
        return not hits and key in self._clean

    def _scrub_key(self, prefix: str, key: str, found: list[str]) -> str:
        """The key itself with secrets replaced: a token used as a dict key is a leak too."""
        if key in self._clean or not self._may_hold_secret(key):
            return key
        hits: list[str] = []
        scrubbed = self.scrub_text(prefix, key, hits)
        if not hits:
            return key
        found.append(prefix + "<key>")  # as the structure walk lists a scrubbed dict key
        return scrubbed

    def _value_clean(self, key: str, value: Any) -> bool:
        if type(value) is str:
            if value in self._clean:
                return key not in PATH_KEYS or self._paths.clean(value)
            return not self._may_hold_secret(value) and (
                key not in PATH_KEYS or self._paths.clean(value)
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
            verdict = keys.get(key)
            if verdict is None:
                verdict = self._attribute_key_clean(key)
            if not verdict:
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

    def _links_clean(self, links: Sequence[Link]) -> bool:
        """Links are ids and attributes: clean when their attributes are (a consumer's link
        to the message's creation context usually has none)."""
        for link in links:
            attributes = link.attributes
            if attributes and not self._attributes_clean(getattr(attributes, "_dict", attributes)):
                return False
        return True

    def scrub_span(self, span: ReadableSpan) -> ReadableSpan:
        """The span itself when it is clean, else a scrubbed copy carrying ``obs.scrubbed``."""
        # The SDK's public accessors copy (events, links) or wrap (attributes) on every call;
        # the clean check reads the fields directly when they are there, for speed.
        raw_events: Sequence[Event]
        raw_links: Sequence[Link]
        raw_attributes: Attributes
        if type(span) is LeanSpan:  # obs's own span: plain fields, none behind a property
            raw_events, raw_links, raw_attributes = span._events, span._links, span._attributes
            description, name = span._status.description, span._name
        else:
            try:
                raw_events, raw_links, raw_attributes = (
                    span._events,
                    span._links,
                    span._attributes,
                )
                raw_attributes = getattr(raw_attributes, "_dict", raw_attributes)
            except AttributeError:
                raw_events, raw_links, raw_attributes = span.events, span.links, span.attributes
            description, name = span.status.description, span.name
        if (
            not raw_events
            and (not raw_links or self._links_clean(raw_links))
            and not description
            and type(name) is str
            and (name in self._clean or not self._may_hold_secret(name))
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
