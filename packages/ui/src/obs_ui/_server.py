"""The HTTP server: the standard library's threading server, the page's files and the JSON API.

What makes it safe to leave running on a laptop:
- it binds loopback unless an access token is set, and then every request needs the token;
- the Host header must name this server (a DNS-rebinding page cannot reach the API);
- a POST must be JSON from this origin (a cross-site form cannot run queries);
- the store is opened read-only with an authorizer (see ``_db``);
- the page is served with a strict Content-Security-Policy: scripts only from this server's
  files, no inline script or style, no connection anywhere else.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import socket
import sqlite3
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from obs_ui import _api
from obs_ui._db import (
    DEFAULT_TIME_LIMIT_S,
    QueryTimeout,
    StoreUnavailable,
    open_read_only,
    time_limit,
)

TOKEN_COOKIE = "obs_ui_token"
MAX_BODY = 64 * 1024

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
_STATIC_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}


def _load_static() -> dict[str, tuple[bytes, str]]:
    """The page's files, read once: only these names are ever served (no path from a URL)."""
    files: dict[str, tuple[bytes, str]] = {}
    root = resources.files("obs_ui").joinpath("static")
    for entry in root.iterdir():
        suffix = Path(entry.name).suffix
        if suffix in _STATIC_TYPES:
            files[entry.name] = (entry.read_bytes(), _STATIC_TYPES[suffix])
    return files


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class UIServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        store: Path,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        token: str | None = None,
        time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    ) -> None:
        if not is_loopback(host) and not token:
            raise ValueError(
                f"obs ui: refusing to listen on {host} without an access token "
                "(pass --token or set OBS_UI_TOKEN; loopback needs none)"
            )
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, port), Handler)
        self.store = store
        self.token = token
        self.time_limit_s = time_limit_s
        self.static = _load_static()
        bound_port = self.server_address[1]
        names = {"127.0.0.1", "localhost", "[::1]", f"[{host}]" if ":" in host else host}
        self.allowed_hosts = {f"{n}:{bound_port}" for n in names}
        self.allowed_origins = {f"http://{h}" for h in self.allowed_hosts}

    @property
    def url(self) -> str:
        host = str(self.server_address[0])
        port = self.server_address[1]
        return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"

    def start_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="obs-ui", daemon=True)
        thread.start()
        return thread


class Handler(BaseHTTPRequestHandler):
    server: UIServer
    server_version = "obs-ui"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the terminal is the user's
        pass

    # -- responses ------------------------------------------------------------------------

    def _send(
        self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Resource-Policy", "same-origin")
        self.send_header("Cache-Control", "no-store")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, payload: Any) -> None:
        body = json.dumps(payload, default=repr, separators=(",", ":")).encode()
        self._send(status, body, "application/json; charset=utf-8")

    def _error(self, status: int, message: str) -> None:
        self._json(status, {"error": message})

    # -- checks ---------------------------------------------------------------------------

    def _host_ok(self) -> bool:
        if self.server.token:
            # Served to other machines under names we cannot know; a rebinding page has no
            # token (the cookie belongs to the real origin), so the token is the check.
            return True
        return (self.headers.get("Host") or "").lower() in self.server.allowed_hosts

    def _token_ok(self, query: dict[str, list[str]]) -> bool:
        token = self.server.token
        if not token:
            return True
        given = ""
        auth = self.headers.get("Authorization") or ""
        if auth.startswith("Bearer "):
            given = auth[7:]
        else:
            for part in (self.headers.get("Cookie") or "").split(";"):
                name, _, value = part.strip().partition("=")
                if name == TOKEN_COOKIE:
                    given = value
        return hmac.compare_digest(given.encode(), token.encode())

    def _admit(self, query: dict[str, list[str]]) -> bool:
        if not self._host_ok():
            self._error(HTTPStatus.MISDIRECTED_REQUEST, "unknown Host")
            return False
        token = self.server.token
        # The printed link carries the token once; it becomes a same-site cookie.
        if (
            token
            and self.path.startswith("/?")
            and "token" in query
            and hmac.compare_digest(query["token"][0].encode(), token.encode())
        ):
            cookie = f"{TOKEN_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/"
            self._send(
                HTTPStatus.SEE_OTHER, b"", "text/plain", {"Location": "/", "Set-Cookie": cookie}
            )
            return False
        if not self._token_ok(query):
            self._error(HTTPStatus.UNAUTHORIZED, "this obs ui needs its access token")
            return False
        return True

    # -- routing --------------------------------------------------------------------------

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query, max_num_fields=50)
        if not self._admit(query):
            return
        path = url.path
        if path in ("/", "/index.html"):
            body, ctype = self.server.static["index.html"]
            self._send(HTTPStatus.OK, body, ctype)
        elif path.startswith("/static/"):
            found = self.server.static.get(path[len("/static/") :])
            if found is None:
                self._error(HTTPStatus.NOT_FOUND, "no such file")
            else:
                self._send(HTTPStatus.OK, found[0], found[1])
        elif path.startswith("/api/"):
            self._api(path[len("/api/") :], query, None)
        elif path == "/favicon.ico":
            self._send(HTTPStatus.NO_CONTENT, b"", "image/x-icon")
        else:
            self._error(HTTPStatus.NOT_FOUND, "not found")

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query, max_num_fields=50)
        if not self._admit(query):
            return
        origin = self.headers.get("Origin")
        if origin is not None and origin.lower() not in self.server.allowed_origins:
            self._error(HTTPStatus.FORBIDDEN, "cross-origin request refused")
            return
        if not (self.headers.get("Content-Type") or "").startswith("application/json"):
            self._error(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send JSON")
            return
        try:
            length = int(self.headers.get("Content-Length") or "0")
        except ValueError:
            length = -1
        if not 0 < length <= MAX_BODY:
            self._error(HTTPStatus.BAD_REQUEST, "body missing or too large")
            return
        try:
            body = json.loads(self.rfile.read(length))
        except ValueError:
            self._error(HTTPStatus.BAD_REQUEST, "the body is not JSON")
            return
        if not isinstance(body, dict) or not url.path.startswith("/api/"):
            self._error(HTTPStatus.BAD_REQUEST, "bad request")
            return
        self._api(url.path[len("/api/") :], query, body)

    def _api(self, route: str, query: dict[str, list[str]], body: dict[str, Any] | None) -> None:
        try:
            conn = open_read_only(self.server.store)
        except (StoreUnavailable, sqlite3.Error) as exc:
            self._error(HTTPStatus.SERVICE_UNAVAILABLE, f"the store cannot be read: {exc}")
            return
        try:
            # A dashboard over a long window on a big store reads every span of that window:
            # it gets longer than a typed query or a list.
            limit = self.server.time_limit_s * (6 if route.startswith("dashboard/") else 1)
            with time_limit(conn, limit):
                payload = self._dispatch(conn, route, query, body)
            self._json(HTTPStatus.OK, payload)
        except _api.BadRequest as exc:
            self._error(HTTPStatus.BAD_REQUEST, str(exc))
        except _api.NotFound as exc:
            self._error(HTTPStatus.NOT_FOUND, str(exc))
        except QueryTimeout as exc:
            self._error(HTTPStatus.BAD_REQUEST, str(exc))
        except sqlite3.Error as exc:
            if route == "query":  # the person's SQL was wrong or not allowed
                self._error(HTTPStatus.BAD_REQUEST, str(exc))
            else:
                self._error(HTTPStatus.INTERNAL_SERVER_ERROR, f"store error: {exc}")
        finally:
            conn.close()

    def _dispatch(
        self,
        conn: sqlite3.Connection,
        route: str,
        query: dict[str, list[str]],
        body: dict[str, Any] | None,
    ) -> Any:
        if body is not None:
            if route == "query":
                return _api.query(conn, body)
            raise _api.NotFound("no such endpoint")
        if route == "meta":
            return _api.meta(conn, str(self.server.store))
        if route == "traces":
            return _api.trace_list(conn, query)
        if route == "alerts":
            return _api.alerts(conn)
        if route.startswith("trace/"):
            return _api.trace(conn, route[len("trace/") :])
        if route.startswith("dashboard/"):
            return _api.dashboard(conn, route[len("dashboard/") :], query)
        raise _api.NotFound("no such endpoint")
