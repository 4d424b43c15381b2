"""Spans the store could not write: one odd span must not cost the batch it came in."""

from __future__ import annotations

import sqlite3

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SpanExportResult

from obs._store import StoreExporter


def _span(name: str, attributes: dict[str, object], resource: Resource | None = None):
    provider = TracerProvider(resource=resource) if resource else TracerProvider()
    span = provider.get_tracer("attack").start_span(name, attributes=attributes)  # type: ignore[arg-type]
    span.add_event("e\ud800", {"x\udc00": "y\ud800"})
    span.end()
    return span


@pytest.mark.parametrize(
    ("name", "attributes", "resource"),
    [
        ("lone \ud800 surrogate", {}, None),
        ("ok", {"k\udc00": "v\ud800"}, None),
        ("ok", {"obs.msg": ("a", "b"), "obs.span_type": "log", "obs.level": ("x",)}, None),
        ("ok", {}, Resource.create({"service.name": "svc\ud800"})),
    ],
)
def test_an_unencodable_span_does_not_fail_its_batch(tmp_path, name, attributes, resource):
    path = tmp_path / "spans.db"
    exporter = StoreExporter(path)
    batch = [_span("fine", {}), _span(name, attributes, resource), _span("fine too", {})]
    assert exporter.export(batch) is SpanExportResult.SUCCESS
    exporter.shutdown()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT count(*) FROM spans").fetchone()[0] == 3
    finally:
        conn.close()
