"""What users and integrations tell the scrubber: options, the callback, identifier keys."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from obs._scrub_patterns import PII_KINDS


def declare_identifier_keys(*keys: str) -> None:
    """Attributes an integration writes whose values are ids, names or enumerations.

    They are never scrubbed by name and their values are not searched, which keeps unique ids
    off the hot path's slow search (see ``IDENTIFIER_KEYS``).
    """
    IDENTIFIER_KEYS.update(keys)


#: Attributes obs itself writes whose values are never secrets.
SAFE_KEYS = frozenset({"obs.scrubbed", "obs.msg_template", "obs.level", "obs.span_type"})

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
        # Metric attributes whose values are enumerations (``input``, ``text``), named with a
        # word the key rules treat as secret: without them, every GenAI token metric would read
        # ``[scrubbed: token]``. (Span attributes never carry them.) Listed here, not declared
        # by the metric scrubber, so the set does not depend on which obs modules were loaded.
        "gen_ai.token.type",
        "gen_ai.token.modality",
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
