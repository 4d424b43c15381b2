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

from obs.instrumentation import secret_name

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


def redact_query(query: str) -> str:
    parts = []
    for part in query.split("&"):
        name, equals, value = part.partition("=")
        if equals and value:
            decoded = unquote_plus(name)
            if decoded in SIGNATURE_PARAMETERS or secret_name(decoded) is not None:
                value = REDACTED
        parts.append(f"{name}{equals}{value}")
    return "&".join(parts)
