"""Which keys name a secret: one verdict for attribute keys, dict keys and ``name=`` in text.

The same classification serves all three, so ``refreshToken`` in a JSON body, the attribute
``refresh_token`` and ``refresh-token: ...`` inside a log line are scrubbed alike.
"""

from __future__ import annotations

import re
from collections.abc import Container, Sequence

from obs._scrub_cache import BoundedCache
from obs._scrub_patterns import KEY_RULES, NOT_SECRET_TAIL

# camelCase and acronym boundaries ("refreshToken", "HTTPAuthorization"): zero-width, linear.
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SEPARATORS = re.compile(r"[^a-z0-9]+")
_RULES = re.compile("|".join(f"(?P<r{i}>{rule})" for i, (_, rule) in enumerate(KEY_RULES)))
_LABELS = [label for label, _ in KEY_RULES]
_NOT_SECRET = re.compile(NOT_SECRET_TAIL)
#: Keys longer than this are classified but not cached (they are not a repeating set).
_CACHE_KEY_LENGTH = 256


def normalise(key: str) -> str:
    """``"x-Api-Key"`` -> ``"_x_api_key_"``: the form ``KEY_RULES`` are written for."""
    return f"_{_SEPARATORS.sub('_', _CAMEL.sub('_', key).lower()).strip('_')}_"


class KeyNames:
    """Classifies keys; verdicts are cached (keys repeat)."""

    def __init__(self, extra_patterns: Sequence[str], exempt: Container[str]) -> None:
        # User patterns keep their original meaning: a case-insensitive search in the key.
        self._extra = (
            re.compile("|".join(f"(?:{p})" for p in extra_patterns), re.IGNORECASE)
            if extra_patterns
            else None
        )
        self._exempt = exempt
        self._verdicts: BoundedCache[str, str | None] = BoundedCache(10_000)
        self.cache = self._verdicts.data

    @property
    def has_extra(self) -> bool:
        return self._extra is not None

    def label(self, key: str) -> str | None:
        """The label of the secret ``key`` names (``"password"``), or None."""
        try:
            return self.cache[key]
        except KeyError:
            pass
        verdict: str | None = None
        if key not in self._exempt:
            verdict = self.classify(key)
        if len(key) <= _CACHE_KEY_LENGTH:
            self._verdicts.remember(key, verdict)
        return verdict

    def classify(self, key: str) -> str | None:
        normal = normalise(key)
        m = _RULES.search(normal)
        if m is not None and m.lastgroup is not None and not _NOT_SECRET.search(normal):
            return _LABELS[int(m.lastgroup[1:])]
        if self._extra is not None:
            found = self._extra.search(key)
            if found is not None:
                return found.group(0).lower() or "secret"
        return None
