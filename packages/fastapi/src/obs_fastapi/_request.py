"""Reading HTTP attributes from an ASGI scope, cheaply.

The values that repeat from request to request (the ``Host`` header, the method) are parsed
once and cached, so the per-request cost is a dictionary lookup.
"""

from __future__ import annotations

from collections.abc import Iterable

from opentelemetry.util.types import AttributeValue

from obs_fastapi._options import SENSITIVE_HEADERS

#: Methods recorded as they are; anything else is ``_OTHER`` (OpenTelemetry HTTP conventions),
#: so a client cannot inflate span-name cardinality with made-up methods.
KNOWN_METHODS = frozenset(
    {"CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "QUERY", "TRACE"}
)

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_hosts: dict[tuple[bytes, str], tuple[tuple[str, AttributeValue], ...]] = {}
_HOSTS_MAX = 1024


def server_attributes(host: bytes | None, scheme: str) -> tuple[tuple[str, AttributeValue], ...]:
    """``server.address`` / ``server.port`` from the ``Host`` header (cached per value)."""
    if host is None:
        return ()
    key = (host, scheme)
    found = _hosts.get(key)
    if found is None:
        found = _parse_host(host, scheme)
        if len(_hosts) >= _HOSTS_MAX:  # a client sending random Host values must not grow memory
            _hosts.clear()
        _hosts[key] = found
    return found


def _parse_host(raw: bytes, scheme: str) -> tuple[tuple[str, AttributeValue], ...]:
    text = raw.decode("latin-1").strip()
    port_text = ""
    if text.startswith("["):  # IPv6 literal
        end = text.find("]")
        if end < 0:
            return ()
        address, rest = text[1:end], text[end + 1 :]
        if rest.startswith(":"):
            port_text = rest[1:]
        elif rest:
            return ()
    else:
        address, sep, port_text = text.partition(":")
        if sep and (not port_text or ":" in port_text):
            return ()
    if not address or any(c in address for c in "/?#@ "):
        return ()
    port: int | None
    if port_text:
        if not port_text.isdigit() or len(port_text) > 5:
            return ()
        port = int(port_text)
    else:
        port = _DEFAULT_PORTS.get(scheme)
    if port is None:
        return (("server.address", address),)
    return (("server.address", address), ("server.port", port))


def header_attributes(
    headers: Iterable[tuple[bytes, bytes]],
    selection: frozenset[bytes] | str,
    prefix: str,
) -> dict[str, AttributeValue]:
    """``http.request.header.<name>`` (or response) attributes for the selected headers.

    Values of credential-bearing headers are never read (see ``SENSITIVE_HEADERS``).
    """
    values: dict[str, list[str]] = {}
    everything = selection == "all"
    for raw_name, raw_value in headers:
        name = raw_name.lower()
        if not everything and name not in selection:
            continue
        text = "[scrubbed: sensitive header]" if name in SENSITIVE_HEADERS else None
        if text is None:
            text = raw_value.decode("latin-1")
        values.setdefault(prefix + name.decode("latin-1"), []).append(text)
    return {key: tuple(found) for key, found in values.items()}
