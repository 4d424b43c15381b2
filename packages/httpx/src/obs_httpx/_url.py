"""``url.full`` without what must not leave the process: credentials and secret query values.

Per the HTTP conventions, ``user:password@`` becomes ``REDACTED:REDACTED@`` and the values of
signature parameters (``AWSAccessKeyId``, ``Signature``, ``sig``, ``X-Goog-Signature``) become
``REDACTED``, and so do those whose name matches one of obs's scrubbing patterns
(``api_key``, ``token``, ``password``...: none when scrubbing is off), before the scrubber
sees the text. The common URL, with neither, is returned as httpx prints it, at no extra
cost.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

from obs.instrumentation import settings

REDACTED = "REDACTED"
SIGNATURE_PARAMETERS = frozenset({"AWSAccessKeyId", "Signature", "sig", "X-Goog-Signature"})


def url_full(url: Any) -> str:
    """``url`` (an ``httpx.URL``) as ``url.full``."""
    if not url.userinfo and not url.query:
        return str(url)
    raw = url.raw_path.decode("ascii", "replace")
    path, _, query = raw.partition("?")
    credentials = f"{REDACTED}:{REDACTED}@" if url.userinfo else ""
    text = f"{url.scheme}://{credentials}{url.netloc.decode('ascii', 'replace')}{path}"
    return f"{text}?{redact_query(query)}" if query else text


class _SecretNames:
    """Which query parameter names are redacted, remembered per name (names are few; values
    are not): one pattern search per new name, not per request."""

    MAX = 1024

    def __init__(self) -> None:
        self._scrubber: object = None
        self._known: dict[str, bool] = {}

    def __call__(self, raw_name: str) -> bool:
        scrubber = settings().scrubber
        if scrubber is not self._scrubber:  # reconfigured: other patterns, or none
            self._scrubber, self._known = scrubber, {}
        known = self._known.get(raw_name)
        if known is None:
            name = unquote_plus(raw_name)
            known = name in SIGNATURE_PARAMETERS or (
                scrubber is not None and scrubber.key_pattern(name) is not None
            )
            if len(self._known) >= self.MAX:
                self._known = {}
            self._known[raw_name] = known
        return known


_secret = _SecretNames()


def redact_query(query: str) -> str:
    parts = []
    for part in query.split("&"):
        name, equals, value = part.partition("=")
        if equals and value and _secret(name):
            value = REDACTED
        parts.append(f"{name}{equals}{value}")
    return "&".join(parts)
