"""The HTTP status code is shown where people read traces: ``obs traces``, ``obs trace``, the
console (a 404 is not an error, but it is what the reader looks for)."""

from __future__ import annotations

import io
import json

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind

from obs._console import ConsoleProcessor
from obs._store import StoreExporter

from .helpers import run_cli, spans


def test_traces_and_trace_show_the_status_code(tmp_path):
    path = tmp_path / "codes.db"
    exporter = StoreExporter(path)
    found = spans(1, "GET /items/{id}", attributes={"http.response.status_code": 404})
    plain = spans(1, "nightly job", attributes={"job": "x"})
    hostile = spans(1, "GET /weird", attributes={"http.response.status_code": "404\x1b[31m"})
    exporter.export([*found, *plain, *hostile])
    exporter.shutdown()

    code, out, _ = run_cli("traces", "--db", str(path))
    assert code == 0

    def line(text: str) -> str:
        [found] = [row for row in out.splitlines() if text in row]
        return found.rstrip()

    assert line("GET /items/{id}").endswith("404 ok")
    assert line("nightly job").endswith("  ok")
    assert line("GET /weird").endswith("  ok")  # not an int: no code shown
    assert "\x1b" not in out

    code, out, _ = run_cli("traces", "--db", str(path), "--json")
    by_root = {row["root"]: row for row in json.loads(out)}
    assert by_root["GET /items/{id}"]["status_code"] == 404
    assert by_root["nightly job"]["status_code"] is None

    trace_id = format(found[0].context.trace_id, "032x")
    code, out, _ = run_cli("trace", trace_id[:8], "--db", str(path), "--no-colour")
    assert code == 0
    assert "GET /items/{id} → 404" in out


def test_the_console_shows_the_status_code():
    stream = io.StringIO()
    provider = TracerProvider()
    provider.add_span_processor(ConsoleProcessor(stream, colours=False))
    tracer = provider.get_tracer("console")
    with tracer.start_as_current_span(
        "GET /items/{id}", kind=SpanKind.SERVER, attributes={"http.response.status_code": 404}
    ):
        pass
    assert " server 404)" in stream.getvalue()
