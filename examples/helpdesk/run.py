"""Run the helpdesk example end to end and show one trace per request.

    uv run python -m examples.helpdesk

Starts the worker, the customers service and the API (both uvicorn) as separate processes on
the real Redis, sends a few tickets (one for an unsupported product, which fails in the
worker), waits until every trace is complete in the local store (.obs/spans.db), prints each
trace as a waterfall, stops the processes and tells you what to try next. With no
OPENAI_API_KEY it starts a local OpenAI-compatible stand-in server and says so; with a key it
calls the real API.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
TICKETS = [
    {
        "customer": "ada",
        "product": "web app",
        "subject": "Export to CSV fails",
        "body": "The button spins forever.",
    },
    {
        "customer": "grace",
        "product": "billing",
        "subject": "Charged twice in March",
        "body": "Two identical charges.",
    },
    {
        "customer": "linus",
        "product": "teleporter",
        "subject": "Beam me up",
        "body": "It does not work.",
    },
]


def say(text: str) -> None:
    print(text, flush=True)


def redis_reachable(host: str = "127.0.0.1", port: int = 6379) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_line(proc: subprocess.Popen[str], log: Path, marker: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if marker in log.read_text(errors="replace"):
            return
        if proc.poll() is not None:
            raise RuntimeError(f"process exited early (code {proc.returncode}); see {log}")
        time.sleep(0.1)
    raise TimeoutError(f"no {marker!r} in {log} within {timeout} s")


def wait_for_http(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


def wait_for_traces(store: Path, trace_ids: list[str], timeout: float) -> None:
    """Until each trace has the API's server span and the worker's process span."""
    deadline = time.monotonic() + timeout
    pending = set(trace_ids)
    while pending and time.monotonic() < deadline:
        if store.exists():
            conn = sqlite3.connect(store, timeout=5)
            try:
                for trace_id in list(pending):
                    kinds = {
                        row[0]
                        for row in conn.execute(
                            "SELECT kind FROM spans WHERE trace_id = ? "
                            "AND kind IN ('server', 'consumer')",
                            (trace_id,),
                        )
                    }
                    if kinds == {"server", "consumer"}:
                        pending.discard(trace_id)
            except sqlite3.Error:
                pass
            finally:
                conn.close()
        time.sleep(0.2)
    if pending:
        raise TimeoutError(f"traces not complete within {timeout} s: {sorted(pending)}")


def start_uvicorn(
    app: str, env: dict[str, str], log: Path, port: int, processes: list[subprocess.Popen[str]]
) -> str:
    """Serve ``app`` with uvicorn on loopback ``port``, output to ``log``; its base URL."""
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    with log.open("w") as out:
        proc = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, text=True
        )
    processes.append(proc)
    base = f"http://127.0.0.1:{port}"
    wait_for_http(f"{base}/health", timeout=60)
    return base


def start_services(
    env: dict[str, str], logs: Path, port: int, processes: list[subprocess.Popen[str]]
) -> str:
    """Start the worker, the customers service, then the API, each logging to ``logs``; the
    API's URL. ``env`` gains ``HELPDESK_CUSTOMERS_URL`` (the customers service's free port).

    Started processes are appended to ``processes`` as they start, so the caller can stop
    them even if a later one fails to come up.
    """
    # The processes' own output (Burr prints a banner for the failing ticket) goes to logs.
    worker_log = logs / "helpdesk-worker.log"
    with worker_log.open("w") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "examples.helpdesk.worker"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    processes.append(worker)
    wait_for_line(worker, worker_log, "worker ready", timeout=60)
    env["HELPDESK_CUSTOMERS_URL"] = start_uvicorn(
        "examples.helpdesk.customers:app",
        env,
        logs / "helpdesk-customers.log",
        free_port(),
        processes,
    )
    return start_uvicorn(
        "examples.helpdesk.api:app", env, logs / "helpdesk-api.log", port, processes
    )


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> int:
    if not redis_reachable():
        say(
            "Redis is not reachable on 127.0.0.1:6379. Start it, for example:\n"
            "    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 "
            '--save "" --appendonly no\n'
            "then run this again."
        )
        return 1

    store = Path(os.environ.get("OBS_STORE_PATH") or ROOT / ".obs" / "spans.db").resolve()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
        "OBS_STORE_PATH": str(store),
        "OBS_STORE": str(store),  # kept on even when OTEL_EXPORTER_OTLP_ENDPOINT sends spans on too
        "OBS_CONSOLE": "false",  # the trees are printed here, from the store
        "HELPDESK_TICKETS_LIST": f"helpdesk:tickets:{uuid.uuid4().hex[:8]}",
    }

    stand_in = None
    if not os.environ.get("OPENAI_API_KEY"):
        from obs_openai.testing import StandInServer

        stand_in = StandInServer().start()
        env["OPENAI_BASE_URL"] = stand_in.base_url
        env["OPENAI_API_KEY"] = "sk-stand-in-not-a-real-key"
        say(f"No OPENAI_API_KEY: using a local OpenAI-compatible stand-in at {stand_in.base_url}.")
    else:
        say("OPENAI_API_KEY is set: the worker calls the real OpenAI API.")

    port = free_port()
    logs = store.parent
    logs.mkdir(parents=True, exist_ok=True)
    processes: list[subprocess.Popen[str]] = []
    try:
        base = start_services(env, logs, port, processes)
        say(
            f"API on {base}, worker consuming {env['HELPDESK_TICKETS_LIST']!r}; "
            f"spans go to {store}\n"
        )

        trace_ids = []
        for ticket in TICKETS:
            response = httpx.post(f"{base}/tickets", json=ticket, timeout=10)
            response.raise_for_status()
            trace_ids.append(response.json()["trace_id"])
            say(
                f"POST /tickets ({ticket['product']}) -> {response.status_code}, "
                f"trace {trace_ids[-1]}"
            )
        wait_for_traces(store, trace_ids, timeout=60)
    finally:
        for proc in reversed(processes):
            stop(proc)  # graceful: each process flushes its spans on the way out
        if stand_in is not None:
            stand_in.close()

    obs_command = [sys.executable, "-m", "obs._cli"]
    for trace_id in trace_ids:
        say("")
        subprocess.run([*obs_command, "trace", "--db", str(store), trace_id], check=False)
    db = (
        ""
        if store == (ROOT / ".obs" / "spans.db").resolve() and Path.cwd() == ROOT
        else f" --db {store}"
    )
    say(
        "\nThe last ticket fails in the worker (unsupported product): see the ✗ marks above\n"
        f"(the processes' own output is in {logs}/helpdesk-*.log).\n"
        "Next, explore the store with SQL:\n"
        f"    uv run obs traces{db}\n"
        f'    uv run obs query{db} "SELECT name, count(*), round(p95(duration_ms), 1) AS p95_ms, '
        "sum(status = 'error') AS errors FROM spans WHERE is_log = 0 "
        'GROUP BY name ORDER BY 2 DESC"\n'
        "Send the same spans to an OpenTelemetry Collector with "
        "OTEL_EXPORTER_OTLP_ENDPOINT=http://host:4318."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
