"""One trace, proven: the helpdesk example's API and worker as separate processes on real Redis.

Each request must be exactly one trace: POST /tickets -> GET (httpx) -> the customers service's
GET /customers/{name}, and POST /tickets -> send -> process -> run -> steps -> OpenAI calls
(each one span, not doubled by the HTTP layer), with the worker's stdlib ``logging`` records
as logs under the process span, the right parents, the failing ticket marked as an error, no
orphan spans.
Checked once from the local store and once from OTLP/HTTP protobuf received by a local receiver.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from examples.helpdesk.run import TICKETS, free_port, start_services, stop

from obs.testing.otlp import OTLPReceiver
from obs_openai.testing import StandInServer
from tests.conftest import require_service

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Span:
    trace_id: str
    span_id: str
    parent: str | None
    name: str
    kind: str
    service: str
    error: bool
    log: bool = False


def start_example(
    tmp_path: Path, extra_env: dict[str, str]
) -> Iterator[tuple[str, list[subprocess.Popen[str]]]]:
    stand_in = StandInServer().start()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "OBS_CONSOLE": "false",
        "HELPDESK_TICKETS_LIST": f"helpdesk:e2e:{uuid.uuid4().hex[:8]}",
        "OPENAI_BASE_URL": stand_in.base_url,
        "OPENAI_API_KEY": "sk-e2e-not-a-real-key",
        **extra_env,
    }
    env.pop("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", None)
    processes: list[subprocess.Popen[str]] = []
    try:
        base = start_services(env, tmp_path, free_port(), processes)
        yield base, processes
    finally:
        for proc in reversed(processes):
            stop(proc)
        stand_in.close()


def send_tickets(base: str) -> list[str]:
    trace_ids = []
    for ticket in TICKETS:
        response = httpx.post(f"{base}/tickets", json=ticket, timeout=10)
        assert response.status_code == 202
        trace_ids.append(response.json()["trace_id"])
    return trace_ids


def wait_until(predicate, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("timed out waiting for the traces")


def check_traces(spans: list[Span], trace_ids: list[str]) -> None:
    by_trace: dict[str, list[Span]] = {}
    for s in spans:
        by_trace.setdefault(s.trace_id, []).append(s)
    assert set(by_trace) == set(trace_ids), "every span belongs to one of the requests' traces"
    list_name = None
    for trace_id, failing in zip(trace_ids, [False, False, True], strict=True):
        everything = by_trace[trace_id]
        ids = {s.span_id: s for s in everything}
        roots = [s for s in everything if s.parent is None]
        assert len(roots) == 1, "one root per trace"
        assert all(s.parent in ids for s in everything if s.parent is not None), "no orphans"
        trace = [s for s in everything if not s.log]
        logs = [s for s in everything if s.log]

        def only(name_prefix: str, kind: str | None = None, trace: list[Span] = trace) -> Span:
            found = [
                s
                for s in trace
                if s.name.startswith(name_prefix) and (kind is None or s.kind == kind)
            ]
            assert len(found) == 1, (name_prefix, [s.name for s in trace])
            return found[0]

        def children(span: Span, name_prefix: str, trace: list[Span] = trace) -> list[Span]:
            return [s for s in trace if s.parent == span.span_id and s.name.startswith(name_prefix)]

        server = roots[0]
        assert (server.name, server.kind, server.service) == (
            "POST /tickets",
            "server",
            "helpdesk-api",
        )
        lookup = only("GET", "client")
        assert (lookup.name, lookup.parent, lookup.service) == (
            "GET",
            server.span_id,
            "helpdesk-api",
        )
        customer = only("GET /customers/", "server")
        assert (customer.name, customer.parent, customer.service) == (
            "GET /customers/{name}",
            lookup.span_id,
            "helpdesk-customers",
        )
        assert not [s for s in trace if s.name == "POST"], "an OpenAI call stays one span"
        send = only("send ", "producer")
        assert send.parent == server.span_id
        assert send.service == "helpdesk-api"
        list_name = list_name or send.name.removeprefix("send ")
        process = only("process ", "consumer")
        assert process.name == f"process {list_name}"
        assert process.parent == send.span_id
        assert process.service == "helpdesk-worker"
        run = only("invoke_workflow helpdesk")
        assert run.parent == process.span_id
        triage = only("step triage")
        assert triage.parent == run.span_id
        worker_logs = {s.name: s for s in logs if s.service == "helpdesk-worker"}
        received = worker_logs["ticket %s received (%s tier)"]
        assert received.parent == process.span_id
        if failing:
            assert process.error
            assert run.error
            assert triage.error
            assert not [s for s in trace if s.name.startswith("chat ")]
            assert not children(run, "step draft_reply")
        else:
            assert not any(s.error for s in trace)
            reply = only("step draft_reply")
            assert reply.parent == run.span_id
            [triage_call] = children(triage, "chat gpt-4o-mini")
            [reply_call] = children(reply, "chat gpt-4o-mini")
            assert triage_call.kind == reply_call.kind == "client"
            assert worker_logs["ticket %s answered (%s)"].parent == process.span_id


@pytest.fixture
def redis():
    require_service("redis")


def test_one_trace_per_request_in_the_local_store(redis, tmp_path):
    store = tmp_path / "spans.db"
    example = start_example(tmp_path, {"OBS_STORE": str(store), "OBS_STORE_PATH": str(store)})
    base, _ = next(example)
    try:
        trace_ids = send_tickets(base)

        def complete() -> bool:
            if not store.exists():
                return False
            try:
                with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as conn:
                    rows = conn.execute(
                        "SELECT trace_id, count(*) FROM spans WHERE kind = 'consumer' "
                        "GROUP BY trace_id"
                    ).fetchall()
            except sqlite3.OperationalError:  # busy, or (an older obs) tables not made yet
                return False
            return len(rows) == len(trace_ids)

        wait_until(complete)
    finally:
        next(example, None)  # stop the processes: they flush on the way out
    with sqlite3.connect(store) as conn:
        rows = conn.execute(
            "SELECT trace_id, span_id, parent_span_id, name, kind, service_name, status, is_log "
            "FROM spans"
        ).fetchall()
    spans = [
        Span(t, s, p, n, k, svc, st == "error", bool(log)) for t, s, p, n, k, svc, st, log in rows
    ]
    check_traces(spans, trace_ids)


def test_the_same_traces_over_otlp(redis, tmp_path):
    with OTLPReceiver() as receiver:
        example = start_example(
            tmp_path, {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OBS_STORE": "off"}
        )
        base, _ = next(example)
        try:
            trace_ids = send_tickets(base)

            def consumed() -> bool:
                # Stopping before the worker took every ticket would lose its trace halves.
                seen = {
                    s.trace_id.hex()
                    for request in receiver.trace_requests()
                    for resource_spans in request.resource_spans
                    for scope_spans in resource_spans.scope_spans
                    for s in scope_spans.spans
                    if s.kind == 5  # consumer
                }
                return set(trace_ids) <= seen

            wait_until(consumed)
        finally:
            next(example, None)  # graceful stop flushes both processes' batches
        spans = []
        for request in receiver.trace_requests():
            for resource_spans in request.resource_spans:
                service = next(
                    a.value.string_value
                    for a in resource_spans.resource.attributes
                    if a.key == "service.name"
                )
                for scope_spans in resource_spans.scope_spans:
                    for s in scope_spans.spans:
                        is_log = any(
                            a.key == "obs.span_type" and a.value.string_value == "log"
                            for a in s.attributes
                        )
                        spans.append(
                            Span(
                                s.trace_id.hex(),
                                s.span_id.hex(),
                                s.parent_span_id.hex() or None,
                                s.name,
                                {
                                    1: "internal",
                                    2: "server",
                                    3: "client",
                                    4: "producer",
                                    5: "consumer",
                                }[s.kind],
                                service,
                                s.status.code == 2,
                                is_log,
                            )
                        )
    check_traces(spans, trace_ids)
