"""Stores with known content for the UI's tests: spans written straight into the store's table."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from obs._store import COLUMNS, connect

NOW_NS = time.time_ns()
MS = 1_000_000


@dataclass
class S:
    """One stored span (or log); ``at_ms`` is before now, ``ms`` its duration."""

    trace: str
    span: str
    name: str
    parent: str | None = None
    kind: str = "internal"
    service: str = "shop"
    scope: str | None = None
    at_ms: float = 60_000
    ms: float = 1.0
    status: str = "unset"
    status_message: str | None = None
    is_log: bool = False
    level: str | None = None
    message: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    events: list[Any] = field(default_factory=list)
    links: list[Any] = field(default_factory=list)

    def row(self) -> tuple[Any, ...]:
        start = NOW_NS - int(self.at_ms * MS)
        end = start + int(self.ms * MS)
        iso = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(start / 1e9))
        values = {
            "trace_id": self.trace.ljust(32, "0"),
            "span_id": self.span.ljust(16, "0"),
            "parent_span_id": self.parent.ljust(16, "0") if self.parent else None,
            "name": self.name,
            "kind": self.kind,
            "service_name": self.service,
            "scope": self.scope,
            "start_time": iso,
            "end_time": iso,
            "start_ns": start,
            "end_ns": end,
            "duration_ms": (end - start) / MS,
            "status": self.status,
            "status_message": self.status_message,
            "is_log": 1 if self.is_log else 0,
            "level": self.level,
            "message": self.message,
            "attributes": json.dumps(self.attributes),
            "events": json.dumps(self.events),
            "links": json.dumps(self.links),
            "resource": json.dumps({"service.name": self.service}),
        }
        return tuple(values[c] for c in COLUMNS)


def write(path: Path, spans: list[S]) -> Path:
    conn = connect(path)
    with conn:
        conn.executemany(
            f"INSERT INTO spans ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)})",
            [s.row() for s in spans],
        )
    conn.close()
    return path


def http_spans() -> list[S]:
    """GET /items/{id}: 10 requests of 1..10 ms, two answered 500; POST /orders: 20..80 ms."""
    spans = []
    for i in range(10):
        code = 500 if i in (3, 7) else 200
        spans.append(
            S(
                f"a{i:02d}",
                "1",
                "GET /items/{id}",
                kind="server",
                ms=i + 1,
                at_ms=120_000 + i * 1000,
                status="error" if code == 500 else "unset",
                attributes={
                    "http.route": "/items/{id}",
                    "http.request.method": "GET",
                    "http.response.status_code": code,
                },
            )
        )
    for i, ms in enumerate((20, 40, 60, 80)):
        spans.append(
            S(
                f"b{i:02d}",
                "1",
                "POST /orders",
                kind="server",
                ms=ms,
                at_ms=100_000 + i * 1000,
                attributes={
                    "http.route": "/orders",
                    "http.request.method": "POST",
                    "http.response.status_code": 201,
                },
            )
        )
    spans += [
        S(
            f"c{i:02d}",
            "1",
            "GET /x",
            kind="server",
            service="other",
            ms=100,
            attributes={"http.route": "/x", "http.request.method": "GET"},
        )
        for i in range(3)
    ]
    return spans


STACK = 'Traceback (most recent call last):\n  File "x.py", line 1\nValueError: no reply'


def workflow_spans() -> list[S]:
    """Two orders traces: API -> send -> process -> Burr run -> steps -> LLM calls.

    Messaging: 2 sent and 2 processed on ``orders`` (6 and 10 ms, the second failing).
    Burr: 2 runs (one failing); steps triage 3 and 5 ms, reply 7 ms (failing).
    LLM: gpt-4o-mini 1000/500/200 cached and 2000/100 tokens; gpt-4o 1000/1000, an error.
    """
    llm = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai"}
    burr = "obs.burr"
    spans = [
        # trace d1: works
        S(
            "d1",
            "1",
            "POST /orders",
            kind="server",
            ms=50,
            at_ms=90_000,
            attributes={
                "http.route": "/orders",
                "http.request.method": "POST",
                "http.response.status_code": 201,
            },
        ),
        S(
            "d1",
            "2",
            "send orders",
            parent="1",
            kind="producer",
            ms=1,
            at_ms=89_990,
            attributes={"messaging.destination.name": "orders", "messaging.system": "redis"},
        ),
        S(
            "d1",
            "3",
            "process orders",
            parent="2",
            kind="consumer",
            service="worker",
            ms=6,
            at_ms=89_980,
            attributes={"messaging.destination.name": "orders", "messaging.system": "redis"},
        ),
        S(
            "d1",
            "4",
            "run app-1",
            parent="3",
            service="worker",
            scope=burr,
            ms=5,
            at_ms=89_979,
            attributes={"burr.app_id": "app-1"},
        ),
        S(
            "d1",
            "5",
            "step triage",
            parent="4",
            service="worker",
            scope=burr,
            ms=3,
            at_ms=89_978,
            attributes={"burr.action": "triage", "burr.app_id": "app-1"},
        ),
        S(
            "d1",
            "6",
            "chat gpt-4o-mini",
            parent="5",
            kind="client",
            service="worker",
            ms=2,
            at_ms=89_977,
            attributes={
                **llm,
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
                "gen_ai.usage.input_tokens": 1000,
                "gen_ai.usage.output_tokens": 500,
                "gen_ai.usage.cache_read.input_tokens": 200,
            },
        ),
        S(
            "d1",
            "7",
            "chat gpt-4o-mini",
            parent="5",
            kind="client",
            service="worker",
            ms=4,
            at_ms=89_975,
            attributes={
                **llm,
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.usage.input_tokens": 2000,
                "gen_ai.usage.output_tokens": 100,
            },
        ),
        S(
            "d1",
            "8",
            "order placed",
            parent="3",
            service="worker",
            is_log=True,
            level="info",
            message="order 42 placed",
            ms=0,
            at_ms=89_970,
        ),
        # trace d2: the reply step fails
        S(
            "d2",
            "1",
            "POST /orders",
            kind="server",
            ms=30,
            at_ms=80_000,
            attributes={
                "http.route": "/orders",
                "http.request.method": "POST",
                "http.response.status_code": 201,
            },
        ),
        S(
            "d2",
            "2",
            "send orders",
            parent="1",
            kind="producer",
            ms=1,
            at_ms=79_990,
            attributes={"messaging.destination.name": "orders", "messaging.system": "redis"},
        ),
        S(
            "d2",
            "3",
            "process orders",
            parent="2",
            kind="consumer",
            service="worker",
            ms=10,
            at_ms=79_980,
            status="error",
            attributes={"messaging.destination.name": "orders", "messaging.system": "redis"},
        ),
        S(
            "d2",
            "4",
            "run app-2",
            parent="3",
            service="worker",
            scope=burr,
            ms=9,
            at_ms=79_979,
            status="error",
            attributes={"burr.app_id": "app-2"},
        ),
        S(
            "d2",
            "5",
            "step triage",
            parent="4",
            service="worker",
            scope=burr,
            ms=5,
            at_ms=79_978,
            attributes={"burr.action": "triage", "burr.app_id": "app-2"},
        ),
        S(
            "d2",
            "6",
            "chat gpt-4o",
            parent="5",
            kind="client",
            service="worker",
            ms=8,
            at_ms=79_977,
            status="error",
            attributes={
                **llm,
                "gen_ai.request.model": "gpt-4o",
                "gen_ai.usage.input_tokens": 1000,
                "gen_ai.usage.output_tokens": 1000,
            },
        ),
        S(
            "d2",
            "7",
            "step reply",
            parent="4",
            service="worker",
            scope=burr,
            ms=7,
            at_ms=79_970,
            status="error",
            status_message="ValueError: no reply",
            attributes={"burr.action": "reply", "burr.app_id": "app-2"},
            events=[
                {
                    "name": "exception",
                    "time_ns": NOW_NS,
                    "attributes": {
                        "exception.type": "ValueError",
                        "exception.message": "no reply",
                        "exception.stacktrace": STACK,
                    },
                }
            ],
        ),
    ]
    return spans


#: What the figures above must come to.
GPT_4O_MINI_COST = (800 * 0.15 + 200 * 0.075 + 500 * 0.6 + 2000 * 0.15 + 100 * 0.6) / 1e6
GPT_4O_COST = (1000 * 2.5 + 1000 * 10.0) / 1e6
