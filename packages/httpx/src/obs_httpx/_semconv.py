"""The stable HTTP client conventions obs-httpx records (names in one place)."""

from __future__ import annotations

METHOD = "http.request.method"
METHOD_ORIGINAL = "http.request.method_original"
STATUS_CODE = "http.response.status_code"
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"
URL_FULL = "url.full"
URL_SCHEME = "url.scheme"
ERROR_TYPE = "error.type"
PROTOCOL_VERSION = "network.protocol.version"

CLIENT_DURATION = "http.client.request.duration"
#: The convention's advisory buckets for HTTP durations, in seconds.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)

#: Methods the convention knows; any other is recorded as ``_OTHER`` (span name ``HTTP``), so
#: a client sending arbitrary methods cannot make names or metric series unbounded.
KNOWN_METHODS = frozenset(
    {"CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE", "QUERY"}
)
DEFAULT_PORTS = {"http": 80, "https": 443}
