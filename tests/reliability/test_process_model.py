"""Process models: workers forked from a configured parent, and ``uvicorn --workers``.

- Pre-fork (gunicorn ``--preload`` style): obs is configured and has exported in the parent
  (an open HTTP keep-alive connection, an open SQLite connection), then workers are forked.
  Every worker's spans reach both the OTLP receiver and the shared store; a worker that exits
  normally flushes at exit; a worker that crashes (``os._exit``) or is SIGKILLed keeps what it
  flushed before dying.
- ``uvicorn --workers 2``: each worker configures obs on import; spans arrive from every worker
  pid; a worker that dies hard keeps the spans it flushed, and the server goes on serving.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from examples.helpdesk.run import free_port, stop

from obs.testing.otlp import OTLPReceiver, attributes

ROOT = Path(__file__).resolve().parents[2]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OBS_"))}
    env.update(PYTHONPATH=str(ROOT), **extra)
    return env


def roles_by_pid(pairs: list[tuple[Any, Any]]) -> Counter[tuple[int, str]]:
    return Counter((int(pid), role) for pid, role in pairs if pid is not None)


def test_forked_workers_export_and_crashed_workers_keep_what_they_flushed(obs_capture, tmp_path):
    store = tmp_path / "spans.db"
    with OTLPReceiver() as receiver:
        result = subprocess.run(
            [sys.executable, "-m", "tests.reliability._forking", receiver.endpoint, str(store)],
            cwd=ROOT,
            env=clean_env(OBS_SHUTDOWN_TIMEOUT_S="5"),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        otlp = roles_by_pid(
            [(attributes(s).get("pid"), attributes(s).get("role")) for s in receiver.spans()]
        )
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    graceful, crash, killed = (int(p) for p in lines["children"].split())
    statuses = [int(s) for s in lines["statuses"].split()]
    assert [(os.WIFEXITED(s), os.WEXITSTATUS(s)) for s in statuses[:2]] == [(True, 0), (True, 70)]
    assert os.WIFSIGNALED(statuses[2])

    with sqlite3.connect(store) as conn:
        rows = [json.loads(a) for (a,) in conn.execute("SELECT attributes FROM spans")]
    stored = roles_by_pid([(a.get("pid"), a.get("role")) for a in rows])

    for where, seen in (("otlp", otlp), ("store", stored)):
        # every worker's spans up to its last flush, each once; the parent's on both sides
        assert seen[(graceful, "graceful")] == 20, (where, seen)
        assert seen[(crash, "crash")] == 20, (where, seen)
        assert seen[(killed, "killed")] == 20, (where, seen)
        parents = {pid for (pid, role) in seen if role.startswith("parent")}
        assert len(parents) == 1, (where, seen)
        parent = parents.pop()
        assert seen[(parent, "parent before fork")] == 3, (where, seen)
        assert seen[(parent, "parent after fork")] == 3, (where, seen)
        # no worker exported a span made by another process
        assert {pid for pid, _ in seen} == {parent, graceful, crash, killed}, (where, seen)


@pytest.mark.parametrize(
    "flush_in_lifespan",
    [
        pytest.param(True, id="app-flushes-in-its-lifespan"),
        # uvicorn ends by re-raising SIGTERM, which skips atexit: obs_fastapi flushes when the
        # lifespan shuts down, so nothing is lost without the app doing anything
        pytest.param(False, id="obs-flushes-on-lifespan-shutdown"),
    ],
)
def test_uvicorn_workers_all_export_and_a_dead_worker_keeps_what_it_flushed(
    obs_capture, tmp_path, flush_in_lifespan
):
    store = tmp_path / "spans.db"
    port = free_port()
    with OTLPReceiver() as receiver:
        env = clean_env(
            OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
            OBS_STORE=str(store),
            OBS_SHUTDOWN_TIMEOUT_S="5",
            # no scheduled export during the test: what arrives was flushed (or nothing is)
            OTEL_BSP_SCHEDULE_DELAY="120000",
        )
        if flush_in_lifespan:
            env["WORKERS_APP_FLUSH_IN_LIFESPAN"] = "1"
        log = tmp_path / "uvicorn.log"
        with log.open("w") as out:
            server = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "tests.reliability._workers_app:app",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--workers",
                    "2",
                    "--log-level",
                    "warning",
                ],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
            )
        traffic = Traffic(f"http://127.0.0.1:{port}")
        try:
            traffic.wait_until_serving()
            traffic.until_both_workers_answer()
            assert len(traffic.pids) == 2, traffic.pids
            # one worker dies hard mid-request; the server survives and keeps answering
            with contextlib.suppress(httpx.HTTPError):  # the connection dies with the worker
                httpx.get(f"{traffic.base}/crash", timeout=10)
            traffic.wait_until_serving()
        finally:
            stop(server)  # SIGTERM: a graceful stop, every live worker should flush
        spans = receiver.spans()
    assert server.returncode == 0, log.read_text()

    crashed = [attributes(s)["pid"] for s in spans if s.name == "before crash"]
    assert len(crashed) == 1, "the crashed worker's flushed span arrived"
    work = Counter(attributes(s)["pid"] for s in spans if s.name == "work")
    assert traffic.pids <= set(work), (traffic.pids, work)
    # every /pid request answered has its server span and its work span, each once
    servers = [s for s in spans if s.name == "GET /pid"]
    assert len(servers) == sum(work.values()) == traffic.answered, (len(servers), work)
    assert len({s.span_id for s in spans}) == len(spans), "no span exported twice"

    with sqlite3.connect(store) as conn:
        stored = Counter(
            json.loads(a).get("pid")
            for (a,) in conn.execute("SELECT attributes FROM spans WHERE name = 'work'")
        )
    assert stored == work, "the shared store got the same spans from every worker"


class Traffic:
    """Requests to the workers, counting those answered (each must leave a trace)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.pids: set[int] = set()
        self.answered = 0
        self._lock = threading.Lock()

    def get_pid(self) -> int | None:
        # a new connection each time: whichever worker accepts it answers
        try:
            response = httpx.get(f"{self.base}/pid", params={"block": 0.05}, timeout=10)
        except httpx.HTTPError:
            return None
        if response.status_code != 200:
            return None
        pid = int(response.json()["pid"])
        with self._lock:
            self.answered += 1
            self.pids.add(pid)
        return pid

    def wait_until_serving(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.get_pid() is None:
            assert time.monotonic() < deadline, "uvicorn did not answer"
            time.sleep(0.1)

    def until_both_workers_answer(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        with ThreadPoolExecutor(4) as pool:
            while len(self.pids) < 2 and time.monotonic() < deadline:
                list(pool.map(lambda _: self.get_pid(), range(8)))
