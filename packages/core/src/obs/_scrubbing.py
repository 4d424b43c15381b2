"""Scrubbing: secrets never reach an exporter.

The scrubber runs inside obs's span pipeline (``_pipeline.py``) when a span ends, before any
exporter or user processor sees it. It looks at attribute keys (a key that names a secret gets
its value replaced) and at string values (bearer tokens, JWTs, well-known API key shapes,
``password=...`` assignments and card numbers inside text are replaced; JSON-encoded strings
are decoded and scrubbed key by key). What it replaced is listed in the ``obs.scrubbed``
attribute, so a user can see why a value is missing.

The clean path is the hot one: key verdicts are cached (attribute keys are few and repeat),
and each string value costs one regular-expression search.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.trace import Link, Status
from opentelemetry.util.types import Attributes, AttributeValue

#: Patterns (case-insensitive, searched anywhere in a key) that mark a key as secret.
DEFAULT_KEY_PATTERNS: tuple[str, ...] = (
    r"passw(?:or)?d",
    r"passphrase",
    r"\bpwd\b",
    r"secret",
    r"auth(?!ors?\b|ority)",
    r"credential",
    r"api[._ -]?key",
    r"access[._ -]?key",
    r"private[._ -]?key",
    r"token(?!s\b|s_|izer)",
    r"\bjwt\b",
    r"session",
    r"cookie",
    r"csrf",
    r"xsrf",
    r"\bssn\b",
    r"social[._ -]?security",
    r"credit[._ -]?card",
    r"card[._ -]?number",
    r"\bcvv\b",
    r"\biban\b",
)

# Secrets recognisable by their shape inside free text (log messages, exception messages,
# URLs, headers that were captured under a harmless name).
_VALUE_PATTERNS: tuple[tuple[str, str], ...] = (
    ("bearer", r"\b(?:bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"),
    ("jwt", r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}"),
    ("api key", r"\b(?:sk|pk|rk)-[A-Za-z0-9_-]{16,}"),
    ("api key", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    ("api key", r"\bgh[pousr]_[A-Za-z0-9]{30,}"),
    ("api key", r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    ("card number", r"(?<![\d.])(?:\d[ -]?){12,18}\d(?![\d.])"),
)

REPLACEMENT = "[scrubbed: {}]"

# Cheap pre-checks, so the full search runs only on the few strings that might hold a secret:
# every value pattern and every default key pattern contains one of these (lower-cased), and a
# card number needs a run of digits.
_TRIGGERS: tuple[str, ...] = (
    "pass",
    "pwd",
    "secret",
    "auth",
    "credential",
    "key",
    "token",
    "jwt",
    "session",
    "cookie",
    "csrf",
    "xsrf",
    "ssn",
    "social",
    "card",
    "cvv",
    "iban",
    "bearer",
    "basic",
    "eyj",
    "sk-",
    "pk-",
    "rk-",
    "akia",
    "asia",
    "gh",
    "xox",
)
_DIGIT_RUN = re.compile(r"\d[\d -]{11,}\d")
#: Strings up to this length have their "clean" verdict cached (routes, names, templates repeat).
_CACHE_MAX_LENGTH = 256


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
    """How obs scrubs; pass to ``obs.configure(scrubbing=...)`` (``False`` turns it off)."""

    extra_patterns: Sequence[str] = ()
    callback: ScrubCallback | None = None
    #: Attribute keys never scrubbed by name (their values are still searched).
    safe_keys: Sequence[str] = field(default_factory=tuple)


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


class Scrubber:
    def __init__(self, options: ScrubbingOptions | None = None) -> None:
        options = options or ScrubbingOptions()
        key_patterns = (*DEFAULT_KEY_PATTERNS, *options.extra_patterns)
        self._key_re = re.compile("|".join(f"(?:{p})" for p in key_patterns), re.IGNORECASE)
        # An assignment inside text whose name is secret: "password=hunter2", "token: abc".
        names = "|".join(f"(?:{p})" for p in key_patterns)
        assignment = (
            rf"(?P<name>(?:{names})[\w.-]*)"
            r"(?P<sep>[\"']?\s*[:=]\s*[\"']?)"
            r"(?P<secret>(?:(?:bearer|basic|token)\s+)?[^\s&\"',;}]+)"
        )
        shapes = "|".join(f"(?P<v{i}>{p})" for i, (_, p) in enumerate(_VALUE_PATTERNS))
        self._value_re = re.compile(f"{assignment}|{shapes}", re.IGNORECASE)
        self._value_names = [name for name, _ in _VALUE_PATTERNS]
        self._callback = options.callback
        self._safe = _SAFE_KEYS | frozenset(options.safe_keys)
        # The shared set, not a copy: integrations may declare theirs after configure.
        self._identifiers = IDENTIFIER_KEYS
        self._key_cache: dict[str, str | None] = {}
        self._clean: dict[str, bool] = {}
        # User patterns are arbitrary regexes: no literal pre-check can stand for them.
        self._triggers: tuple[str, ...] | None = None if options.extra_patterns else _TRIGGERS

    # -- keys ---------------------------------------------------------------------------
    def key_pattern(self, key: str) -> str | None:
        """The secret pattern a key matches, or None. Cached: keys repeat."""
        try:
            return self._key_cache[key]
        except KeyError:
            pass
        verdict = None
        if key not in self._safe and key not in self._identifiers:
            m = self._key_re.search(key)
            verdict = m.group(0).lower() if m else None
        if len(self._key_cache) > 10_000:  # unbounded keys (a misuse) must not grow memory
            self._key_cache.clear()
        self._key_cache[key] = verdict
        return verdict

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

    def scrub_text(self, path: str, text: str, found: list[str]) -> str:
        """Replace secrets inside a string; JSON strings are scrubbed structurally."""
        stripped = text[:1]
        if stripped in ("{", "[") and len(text) < 1_000_000:
            try:
                decoded = json.loads(text)
            except ValueError:
                decoded = None
            if isinstance(decoded, (dict, list)):
                before = len(found)
                cleaned = self._scrub_json(path, decoded, found)
                if len(found) == before:
                    self._remember_clean(text)
                    return text
                return json.dumps(cleaned, ensure_ascii=False)
        if not self._may_hold_secret(text):
            return text
        before = len(found)
        result = self._value_re.sub(lambda m: self._replace(path, m, found), text)
        if len(found) == before:
            # A look-alike (digits that fail the card check, "token" without a value): clean,
            # and remembered so the next span with the same name or value skips the search.
            self._remember_clean(text)
        return result

    def _remember_clean(self, text: str) -> None:
        if len(text) <= _CACHE_MAX_LENGTH:
            if len(self._clean) > 10_000:
                self._clean.clear()
            self._clean[text] = True

    def _may_hold_secret(self, text: str) -> bool:
        short = len(text) <= _CACHE_MAX_LENGTH
        if short and text in self._clean:
            return False
        triggers = self._triggers
        if triggers is None:
            suspect = self._value_re.search(text) is not None
        else:
            lowered = text.lower()
            suspect = any(t in lowered for t in triggers) or _DIGIT_RUN.search(text) is not None
            if suspect:
                suspect = self._value_re.search(text) is not None
        if not suspect:
            self._remember_clean(text)
        return suspect

    def _replace(self, path: str, m: re.Match[str], found: list[str]) -> str:
        secret = m.group("secret")
        if secret is not None:
            pattern = self._key_re.search(m.group("name"))
            label = pattern.group(0).lower() if pattern else "secret"
            replacement = self._decide(path, secret, label)
            if replacement == secret:
                return m.group(0)
            found.append(path)
            return f"{m.group('name')}{m.group('sep')}{replacement}"
        index = int(m.lastgroup[1:]) if m.lastgroup else 0
        label = self._value_names[index]
        text = m.group(0)
        if label == "card number" and not _luhn_ok(re.sub(r"\D", "", text)):
            return text
        replacement = self._decide(path, text, label)
        if replacement == text:
            return text
        found.append(path)
        return str(replacement)

    def _scrub_json(self, path: str, value: Any, found: list[str]) -> Any:
        if isinstance(value, dict):
            out: dict[str, Any] = {}
            for k, v in value.items():
                sub = f"{path}.{k}"
                pattern = self.key_pattern(str(k)) if v not in (None, "", {}, []) else None
                if pattern is not None:
                    # Whatever sits under a secret name goes, containers included:
                    # {"credentials": {"user": ..., "value": ...}} leaks nothing.
                    replacement = self._decide(sub, v, pattern)
                    if replacement is not v:
                        found.append(sub)
                    out[k] = replacement
                else:
                    out[k] = self._scrub_json(sub, v, found)
            return out
        if isinstance(value, list):
            return [self._scrub_json(f"{path}[{i}]", v, found) for i, v in enumerate(value)]
        if isinstance(value, str):
            return self.scrub_text(path, value, found)
        return value

    # -- attributes and spans -------------------------------------------------------------
    def scrub_attributes(
        self, prefix: str, attributes: Attributes, found: list[str]
    ) -> dict[str, AttributeValue] | None:
        """A scrubbed copy of ``attributes``, or None when nothing needed scrubbing."""
        if not attributes:
            return None
        changed: dict[str, AttributeValue] | None = None
        for key, value in attributes.items():
            new = value
            pattern = self.key_pattern(key)
            path = prefix + key
            if pattern is not None:
                if value not in ("", None):
                    new = self._decide(path, value, pattern)
                    if new is not value:
                        found.append(path)
                        new = new if isinstance(new, (str, bool, int, float)) else str(new)
            elif key in self._identifiers:
                pass
            elif type(value) is str:
                new = self.scrub_text(path, value, found)
            elif isinstance(value, tuple) and value and type(value[0]) is str:
                new = tuple(self.scrub_text(path, v, found) for v in value)
                if new == value:
                    new = value
            if new is not value:
                if changed is None:
                    changed = dict(attributes)
                changed[key] = new
        return changed

    def _attributes_clean(self, attributes: Attributes) -> bool:
        """The hot path: two dictionary look-ups per attribute for the usual, clean span."""
        if not attributes:
            return True
        keys = self._key_cache
        clean = self._clean
        identifiers = self._identifiers
        for key, value in attributes.items():
            verdict = keys.get(key, _UNSEEN)
            if verdict is _UNSEEN:
                verdict = self.key_pattern(key)
            if verdict is not None:
                return False
            if key in identifiers:
                continue
            if type(value) is str:
                if value not in clean and self._may_hold_secret(value):
                    return False
            elif type(value) is tuple:
                for item in value:
                    if type(item) is str and item not in clean and self._may_hold_secret(item):
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
        if not found:
            return span
        merged = dict(attributes if attributes is not None else span.attributes or {})
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
            attributes = self.scrub_attributes(f"events.{event.name}.", event.attributes, found)
            if attributes is not None:
                if out is None:
                    out = list(events)
                out[i] = Event(event.name, attributes, event.timestamp)
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


def iter_patterns() -> Iterable[str]:
    """The default key patterns, for documentation and ``obs`` command output."""
    return iter(DEFAULT_KEY_PATTERNS)
