"""The local SQLite span store and the `obs` command over it."""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import obs
import obs.testing
from obs import _cli
from obs._store import StoreExporter, connect


def run_cli(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    old = sys.stdout
    sys.stdout = out
    try:
        code = _cli.main(list(args))
    finally:
        sys.stdout = old
    return code, out.getvalue()


@pytest.fixture
def store(tmp_path, obs_capture):
    path = tmp_path / "store" / "spans.db"
    obs_capture.configure(store=path)
    return path


def make_traffic() -> None:
    for i, route in enumerate(["/items/{id}", "/items/{id}", "/orders", "/items/{id}"]):
        tracer = obs.tracer("test.http")
        from opentelemetry.trace import SpanKind

        with tracer.start_as_current_span(
            f"GET {route}", kind=SpanKind.SERVER, attributes={"http.route": route}
        ) as span:
            obs.info("handling {n}", n=i)
            if route == "/orders":
                span.set_status(obs_status_error())


def obs_status_error():
    from opentelemetry.trace import Status, StatusCode

    return Status(StatusCode.ERROR, "boom")


def test_spans_and_logs_become_rows(store, obs_capture):
    with obs.span("outer", password="hunter2"):
        obs.warn("careful {what}", what="now")
    obs.force_flush()
    conn = connect(store, create=False)
    rows = {
        r[0]: r
        for r in conn.execute(
            "SELECT name, kind, is_log, level, message, parent_span_id, service_name, "
            "attributes, duration_ms FROM spans"
        )
    }
    assert set(rows) == {"outer", "careful {what}"}
    log = rows["careful {what}"]
    assert log[2:5] == (1, "warn", "careful now")
    outer = rows["outer"]
    assert outer[1] == "internal"
    assert log[5] is not None
    assert outer[6] == "obs-tests"
    assert json.loads(outer[7])["password"] == "[scrubbed: password]"  # scrubbed before storing
    assert b"hunter2" not in store.read_bytes()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_store_is_the_default_without_otlp(tmp_path, obs_capture, monkeypatch):
    monkeypatch.chdir(tmp_path)
    handle = obs_capture.configure(store=None)
    assert handle.store_path == tmp_path / ".obs" / "spans.db"
    monkeypatch.setenv("OBS_STORE", "off")
    assert obs_capture.configure(store=None).store_path is None
    monkeypatch.setenv("OBS_STORE", str(tmp_path / "elsewhere.db"))
    assert obs_capture.configure(store=None).store_path == tmp_path / "elsewhere.db"


def test_several_processes_write_one_store(tmp_path):
    path = tmp_path / "shared.db"
    script = textwrap.dedent(
        f"""
        import obs, sys
        obs.configure(store={str(path)!r}, console=False, otlp=False, service_name=sys.argv[1])
        for i in range(300):
            with obs.span("work {{i}}", i=i):
                obs.info("step")
        """
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, f"worker-{n}"]) for n in range(3)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    conn = sqlite3.connect(path)
    counts = dict(conn.execute("SELECT service_name, count(*) FROM spans GROUP BY 1"))
    assert counts == {"worker-0": 600, "worker-1": 600, "worker-2": 600}


def test_pruning_by_age_and_size(tmp_path, obs_capture):
    limit_mb = 0.25
    path = tmp_path / "p.db"
    exporter = StoreExporter(path, max_age_s=3600, max_size_mb=limit_mb)
    tracer = obs.tracer("t")  # real spans with chosen timestamps, written straight to the store
    now = time.time_ns()
    old = [tracer.start_span("old", start_time=now - 7200 * 10**9) for _ in range(10)]
    for s in old:
        s.end(end_time=now - 7199 * 10**9)
    exporter.export(old)
    sizes = []
    for round_ in range(6):
        batch = []
        for i in range(1000):
            start = now + round_ * 10_000 + i
            s = tracer.start_span("fresh", start_time=start, attributes={"blob": "x" * 200})
            s.end(end_time=start + 1000)
            batch.append(s)
        exporter.export(batch)
        exporter.prune()
        wal = path.with_name(path.name + "-wal")
        sizes.append(path.stat().st_size + (wal.stat().st_size if wal.exists() else 0))
    conn = connect(path, create=False)
    names = dict(conn.execute("SELECT name, count(*) FROM spans GROUP BY name"))
    assert "old" not in names  # pruned by age
    assert 0 < names["fresh"] < 6000  # the oldest went to respect the size bound
    newest = conn.execute("SELECT max(start_ns) FROM spans").fetchone()[0]
    assert newest == now + 5 * 10_000 + 999  # the newest are kept
    # the files stop growing: space freed by pruning is reused by later inserts
    assert sizes[-1] <= sizes[2] * 1.25, sizes


def test_a_store_that_cannot_be_written_never_reaches_the_app(tmp_path, obs_capture, caplog):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the store's folder should be")
    obs.testing.reset_diagnostics()
    caplog.set_level(logging.WARNING, logger="obs")
    obs_capture.configure(store=blocker / "spans.db")
    with obs.span("still works"):
        pass
    assert obs.force_flush() in (True, False)
    assert obs_capture.one("still works")
    assert "is failing" in caplog.text


def test_query_table_json_csv_and_helpers(store):
    make_traffic()
    obs.force_flush()
    code, out = run_cli("query", "--db", str(store), _cli.EXAMPLE_QUERY)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["route", "requests", "p50_ms", "p95_ms", "errors"]
    assert lines[2].split()[0] == "/items/{id}"
    assert lines[2].split()[1] == "3"
    assert lines[-1] == "(2 rows)"

    code, out = run_cli("query", "--db", str(store), "--json", _cli.EXAMPLE_QUERY)
    rows = json.loads(out)
    by_route = {r["route"]: r for r in rows}
    assert by_route["/orders"]["errors"] == 1
    assert by_route["/items/{id}"]["errors"] == 0
    assert by_route["/items/{id}"]["p95_ms"] >= by_route["/items/{id}"]["p50_ms"]

    code, out = run_cli(
        "query",
        "--db",
        str(store),
        "--csv",
        "SELECT name, is_log FROM spans WHERE is_log = 1 LIMIT 2",
    )
    parsed = list(csv.reader(io.StringIO(out)))
    assert parsed[0] == ["name", "is_log"]
    assert parsed[1] == ["handling {n}", "1"]


def test_query_is_read_only_and_errors_are_clear(store, capsys):
    make_traffic()
    obs.force_flush()
    assert run_cli("query", "--db", str(store), "DELETE FROM spans")[0] == 2
    assert "only reads" in capsys.readouterr().err
    assert run_cli("query", "--db", str(store), "SELEC nonsense")[0] == 2


def test_missing_store_is_explained(tmp_path, capsys):
    assert run_cli("traces", "--db", str(tmp_path / "absent.db"))[0] == 1
    assert "no span store at" in capsys.readouterr().err


def test_percentile_matches_interpolation(store):
    from obs._store import percentile

    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([10], 95) == 10
    assert percentile([], 50) is None
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95) == pytest.approx(9.55)


def test_traces_and_trace_waterfall(store):
    with obs.span("GET /checkout"):
        with obs.span("send orders"):
            obs.info("queued {n}", n=1)
        with pytest.raises(ValueError, match="declined"), obs.span("charge"):
            raise ValueError("declined")
    obs.force_flush()
    code, out = run_cli("traces", "--db", str(store))
    assert code == 0
    assert "GET /checkout" in out
    assert "error" in out
    trace_id = json.loads(run_cli("traces", "--db", str(store), "--json")[1])[0]["trace_id"]
    code, out = run_cli("trace", "--db", str(store), trace_id[:8])
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith(f"trace {trace_id}  4 spans")
    assert "GET /checkout" in lines[1]
    assert "├─ send orders" in lines[2]
    assert "│  └─ INFO queued 1" in lines[3]
    assert "└─ charge" in lines[4]
    assert "✗ ValueError" in lines[4]
    assert "\x1b[" not in out
    assert run_cli("trace", "--db", str(store), "ffffffff")[0] == 1


def test_obs_run_configures_an_unchanged_program(tmp_path):
    program = tmp_path / "app.py"
    program.write_text(
        "import obs\n"
        "with obs.span('job'):\n"
        "    obs.info('working')\n"
        "print('program output', obs.settings().configured)\n"
    )
    env = {**os.environ, "OBS_STORE_PATH": str(tmp_path / "run.db"), "OBS_CONSOLE": "false"}
    env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    obs_bin = Path(sys.executable).parent / "obs"
    out = subprocess.run(
        [
            str(obs_bin),
            "run",
            "--service-name",
            "unchanged",
            "--only",
            "fastapi",
            "--",
            sys.executable,
            str(program),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "program output True" in out.stdout
    conn = sqlite3.connect(tmp_path / "run.db")
    rows = conn.execute("SELECT name, service_name FROM spans ORDER BY start_ns").fetchall()
    assert rows == [("job", "unchanged"), ("working", "unchanged")]


def test_obs_integrations_command():
    code, out = run_cli("integrations")
    assert code == 0
    for name in ("burr", "fastapi", "faststream", "openai"):
        assert name in out
