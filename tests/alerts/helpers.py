"""A real loopback webhook receiver, and spans written straight into a real store file."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from obs._store import connect
from obs.testing.loopback import LoopbackServer


class Receiver(LoopbackServer):
    """Records every POSTed JSON body with its arrival time.

    ``statuses``: the reply status of the first requests (then 200); ``hang``: never reply.
    """

    def __init__(self, *, statuses: list[int] | None = None, hang: bool = False) -> None:
        receiver = self
        self.received: list[tuple[float, dict[str, Any]]] = []
        self.requests = 0
        self.headers: list[dict[str, str]] = []
        self.statuses = list(statuses or [])
        self.hang = hang
        self.release = threading.Event()
        self.lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                with receiver.lock:
                    receiver.requests += 1
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                if receiver.hang:
                    receiver.release.wait(60)
                    return
                if status == 200:
                    with receiver.lock:
                        receiver.received.append((time.time(), json.loads(body)))
                        receiver.headers.append(dict(self.headers))
                self.send_response(status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(Handler, name="alerts-test-receiver")

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/hooks/T0SECRET/B0SECRET/xyzsecretpart"

    def bodies(self) -> list[dict[str, Any]]:
        with self.lock:
            return [body for _, body in self.received]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.received) < count:
            time.sleep(0.02)
        return self.bodies()

    def close(self) -> None:
        self.release.set()
        super().close()


def refused_url() -> str:
    """A loopback URL nobody listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


class Spans:
    """Writes span rows the way the store exporter does, at chosen times."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn = connect(path)
        self.count = 0

    def add(
        self,
        *,
        at_ns: int,
        status: str = "ok",
        duration_ms: float = 10.0,
        kind: str = "server",
        name: str = "GET /items/{id}",
        service: str = "api",
        attributes: dict[str, Any] | None = None,
        trace_id: str | None = None,
    ) -> str:
        self.count += 1
        trace = trace_id or f"{self.count:032x}"
        attrs = {"http.route": "/items/{id}"} if attributes is None else attributes
        with self.conn:
            self.conn.execute(
                "INSERT INTO spans (trace_id, span_id, name, kind, service_name, start_time, "
                "end_time, start_ns, end_ns, duration_ms, status, attributes) "
                "VALUES (?, ?, ?, ?, ?, '', '', ?, ?, ?, ?, ?)",
                (
                    trace,
                    f"{self.count:016x}",
                    name,
                    kind,
                    service,
                    at_ns,
                    at_ns + int(duration_ms * 1e6),
                    duration_ms,
                    status,
                    json.dumps(attrs),
                ),
            )
        return trace

    def close(self) -> None:
        self.conn.close()
