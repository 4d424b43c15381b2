"""An HTTP server on a loopback port, served from a daemon thread: the base of obs's test
servers (the OTLP receiver here, the OpenAI stand-in in obs-openai)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TypeVar

S = TypeVar("S", bound="LoopbackServer")


class LoopbackServer:
    #: Short, so ``close()`` returns promptly (serve_forever checks for shutdown this often).
    POLL_INTERVAL_S = 0.05

    def __init__(
        self,
        handler: type[BaseHTTPRequestHandler],
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        name: str = "obs-loopback-server",
    ) -> None:
        self._httpd = ThreadingHTTPServer((host, port), handler)
        self._httpd.daemon_threads = True
        address = self._httpd.server_address
        self.host: str = str(address[0])
        self.port: int = int(address[1])
        self._name = name
        self._thread: threading.Thread | None = None

    def start(self: S) -> S:
        if self._thread is None:
            self._thread = threading.Thread(target=self.serve_forever, name=self._name, daemon=True)
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread (``start()`` does it in a thread of its own)."""
        self._httpd.serve_forever(poll_interval=self.POLL_INTERVAL_S)

    def close(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self: S) -> S:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
