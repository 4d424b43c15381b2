"""Token-like segments of URL paths (``/reset/<token>``), in the attributes that hold a path.

The decision and its trade-off are in the README (Scrubbing): a segment holding a run of 16+
letters and digits that mixes both and is varied reads as a credential; UUIDs, numbers and
slugs do not. Hex digests in paths are scrubbed too (the price of catching hex tokens).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from obs._scrub_cache import BoundedCache

#: Attributes holding a URL path, whose token-like segments are scrubbed (see README).
PATH_KEYS = frozenset({"url.path", "url.full", "http.target"})
# A path segment that reads as a token: 24+ URL-safe characters (checked further in
# ``_token_like``). Searched only in ``PATH_KEYS`` values.
_PATH_SEGMENT = re.compile(r"(?<=/)[A-Za-z0-9_\-.~=+%]{24,2048}(?=[/?#;]|\Z)")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_ALNUM_RUN = re.compile(r"[A-Za-z0-9]{16,}")
_CACHE_MAX_LENGTH = 256


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


class PathTokens:
    """Finds and replaces token-like path segments; clean verdicts are cached."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._clean: BoundedCache[str, bool] = BoundedCache(10_000)

    def scrub(
        self, path: str, text: str, found: list[str], decide: Callable[[str, str, str], str]
    ) -> str:
        """``text`` with token-like path segments replaced by ``decide``'s answer."""
        if not self.enabled or len(text) < 25:
            return text
        pieces: list[str] = []
        done = 0
        for m in _PATH_SEGMENT.finditer(text, _path_start(text)):
            segment = m.group(0)
            if not _token_like(segment):
                continue
            replacement = decide(path, segment, "path token")
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

    def clean(self, text: str) -> bool:
        if not self.enabled or len(text) < 25:
            return True
        verdict = self._clean.data.get(text)
        if verdict is None:
            segments = _PATH_SEGMENT.finditer(text, _path_start(text))
            verdict = not any(_token_like(m.group(0)) for m in segments)
            if len(text) <= _CACHE_MAX_LENGTH:
                self._clean.remember(text, verdict)
        return verdict
