"""The stand-in as a real HTTP server on loopback (stdlib ``http.server``, one thread each)."""

from __future__ import annotations

import socket
import time
from http.server import BaseHTTPRequestHandler

from obs.testing.loopback import LoopbackServer
from obs_openai.testing._wire import respond


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, chunked SSE: like the real service
    server_version = "obs-openai-stand-in"

    def log_message(self, format: str, *args: object) -> None:
        pass  # a test server should not write to stderr for every request

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        reply = respond(self.command, self.path, headers, body)
        if reply.delay:
            time.sleep(reply.delay)
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.events is None:
            self.send_header("content-length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
            return
        self.send_header("transfer-encoding", "chunked")
        self.send_header("cache-control", "no-cache")
        self.end_headers()
        for index, event in enumerate(reply.events):
            if reply.cut_after is not None and index >= reply.cut_after:
                # Break off mid-body: the client sees an incomplete chunked message.
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.wfile.write(f"{len(event):x}\r\n".encode() + event + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    do_POST = _answer
    do_GET = _answer


class StandInServer(LoopbackServer):
    """A running loopback server; ``base_url`` is what ``OpenAI(base_url=...)`` takes.

    Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(_Handler, host, port, name="openai-stand-in")

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"
