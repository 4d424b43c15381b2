"""The `obs` command against odd files and hostile SQL: one line, a non-zero exit, no write."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export import SpanExportResult

from obs._store import StoreExporter, open_for_writing

from .helpers import OBS, is_root, rows, run_cli, run_obs, spans


@pytest.fixture
def store(tmp_path) -> Path:
    path = tmp_path / "spans.db"
    assert StoreExporter(path).export(spans(5)) is SpanExportResult.SUCCESS
    return path


def one_line_failure(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0, result
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize("command", [("traces",), ("trace", "abcd"), ("query", "SELECT 1")])
def test_every_odd_db_gets_one_line(tmp_path, command):
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(os.urandom(8192))
    text = tmp_path / "text.db"
    text.write_text("hello, not a database\n" * 100)
    fifo = tmp_path / "fifo.db"
    os.mkfifo(fifo)
    newer = tmp_path / "newer.db"
    open_for_writing(newer).close()
    conn = sqlite3.connect(newer)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    empty = tmp_path / "empty.db"
    empty.touch()
    cases = {
        garbage: "not a readable SQLite span store",
        text: "not a readable SQLite span store",
        tmp_path: "is a directory",
        Path("/dev/null"): "not a regular file",
        fifo: "not a regular file",  # must not hang on open
        tmp_path / "missing.db": "no span store at",
        newer: "newer obs",
        empty: "is empty",
    }
    if command[0] != "traces":  # every case once; the other commands share the opening path
        cases = {p: cases[p] for p in (garbage, fifo, newer)}
    for path, expected in cases.items():
        line = one_line_failure(run_obs(command[0], "--db", str(path), *command[1:], timeout=30))
        assert expected in line, (path, line)


def test_a_store_of_another_tool_is_explained(tmp_path):
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.close()
    assert "no spans table" in one_line_failure(run_obs("traces", "--db", str(other)))


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory another user can traverse (pytest's own are 0700)."""
    if not is_root():
        pytest.skip("switching to another user needs root")
    base = Path(tempfile.mkdtemp(prefix="obs-store-test-", dir="/tmp"))
    os.chmod(base, 0o711)
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_permission_denied_is_one_line(shared_dir):
    path = shared_dir / "spans.db"
    StoreExporter(path).export(spans(2))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # the directory is reachable, the file not
    result = run_obs("traces", "--db", str(path), user="nobody")
    assert "permission denied" in one_line_failure(result).lower()


def test_a_store_in_a_directory_the_reader_cannot_write_is_read_immutable(shared_dir):
    # As another user, mode=ro cannot create the -shm file: the command falls back to
    # immutable=1 and still answers (what is checkpointed into the main file).
    folder = shared_dir / "ro"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    path = folder / "spans.db"
    exporter = StoreExporter(path)
    exporter.export(spans(4))
    exporter.shutdown()  # the last connection's close checkpoints and removes -wal/-shm
    os.chmod(path, 0o644)
    result = run_obs("query", "--db", str(path), "SELECT count(*) AS n FROM spans", user="nobody")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[2].strip() == "4"


def test_a_read_only_filesystem_is_read(tmp_path):
    if not is_root():
        pytest.skip("mounting needs root")
    mount = tmp_path / "rofs"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)]).returncode:
        pytest.skip("cannot mount tmpfs here")
    try:
        path = mount / "spans.db"
        exporter = StoreExporter(path)
        exporter.export(spans(3))
        exporter.shutdown()
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        result = run_obs("query", "--db", str(path), "SELECT count(*) FROM spans")
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines()[2].strip() == "3"
        assert run_obs("traces", "--db", str(path)).returncode == 0
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.mark.parametrize(
    ("sql", "why"),
    [
        ("PRAGMA journal_mode=DELETE", "only reads"),
        ("PRAGMA wal_checkpoint(TRUNCATE)", "only reads"),
        ("PRAGMA user_version = 7", "only reads"),
        ("ATTACH 'ATTACHED' AS x", "only reads"),
        ("VACUUM INTO 'VACUUMED'", "only reads"),
        ("VACUUM", "only reads"),
        ("DELETE FROM spans", "only reads"),
        ("UPDATE spans SET name = 'x'", "only reads"),
        ("CREATE TABLE evil (x)", "only reads"),
        ("SELECT load_extension('x')", "only reads"),
    ],
)
def test_hostile_sql_is_refused_and_changes_nothing(store, sql, why, monkeypatch):
    folder = store.parent
    monkeypatch.chdir(folder)
    before = sorted(p.name for p in folder.iterdir())
    code, _, err = run_cli("query", "--db", str(store), sql.replace("ATTACHED", str(folder / "a")))
    assert code == 2
    assert why in err
    assert "\n" not in err.strip()
    assert sorted(p.name for p in folder.iterdir()) == before
    assert rows(store, "PRAGMA journal_mode") == [("wal",)]
    assert rows(store) == [(5,)]
    assert rows(store, "PRAGMA user_version")[0][0] != 7


def test_reading_leaves_a_dead_writers_wal_alone(tmp_path):
    path = tmp_path / "spans.db"
    open_for_writing(path).close()
    # A writer that dies without closing: its spans are only in the WAL.
    script = textwrap.dedent(
        f"""
        import os, sqlite3
        conn = sqlite3.connect({str(path)!r}, isolation_level=None)
        conn.execute("PRAGMA wal_autocheckpoint = 0")
        for i in range(50):
            conn.execute(
                "INSERT INTO spans (trace_id, span_id, name, kind, start_time, end_time, "
                "start_ns, end_ns, duration_ms, status) VALUES (?, 'x', 'n', 'internal', '', '', "
                "1, 2, 0, 'ok')", (f"{{i:032x}}",))
        os._exit(0)
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True)
    wal = path.with_name("spans.db-wal")
    size = wal.stat().st_size
    assert size > 0
    result = run_obs("query", "--db", str(path), "SELECT count(*) FROM spans")
    assert result.stdout.splitlines()[2].strip() == "50"
    assert run_obs("traces", "--db", str(path)).returncode == 0
    assert wal.exists()
    assert wal.stat().st_size == size  # not checkpointed, not truncated


def test_a_runaway_query_stops_at_the_time_limit(store):
    started = time.monotonic()
    code, _, err = run_cli(
        "query",
        "--db",
        str(store),
        "--timeout",
        "1",
        "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT count(*) FROM r",
    )
    assert code == 3
    assert "stopped after 1 s" in err
    assert time.monotonic() - started < 10


def _wait_until_open(pid: int, path: Path, timeout_s: float = 60.0) -> None:
    """Until process ``pid`` holds ``path`` open (Linux /proc), or ``timeout_s``."""
    fds = Path(f"/proc/{pid}/fd")
    if not fds.parent.exists():  # no /proc: a fixed wait, as good as it gets
        time.sleep(2.0)
        return
    target = os.path.realpath(path)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if any(os.readlink(fd) == target for fd in fds.iterdir()):
                return
        except OSError:
            pass  # a descriptor closed while we read the list: look again
        time.sleep(0.05)


def test_ctrl_c_interrupts_a_runaway_query(store):
    proc = subprocess.Popen(
        [
            OBS,
            "query",
            "--db",
            str(store),
            "--timeout",
            "120",
            "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) "
            "SELECT count(*) FROM r",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_until_open(proc.pid, store)  # imports done (slow on a loaded machine), store open
    time.sleep(0.5)  # and deep in the query
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130
    assert "interrupted" in err
    assert "Traceback" not in err


def _write_hostile_trace(path: Path) -> str:
    open_for_writing(path).close()
    trace_id = "c0ffee" + "0" * 26
    nested = "[" * 100_000 + "]" * 100_000
    evil = "ok\x1b]0;pwned\x07\x1b[2J\rfake\u202edesrever\x9b31m"
    conn = sqlite3.connect(path)
    conn.execute(
        "INSERT INTO spans (trace_id, span_id, name, kind, service_name, start_time, end_time, "
        "start_ns, end_ns, duration_ms, status, status_message, attributes, message) "
        "VALUES (?, '01', ?, 'server', ?, '', '', ?, ?, 1, 'error', ?, ?, ?)",
        (trace_id, evil, evil, time.time_ns(), time.time_ns() + 10**6, evil, nested, evil),
    )
    conn.execute(
        "INSERT INTO traces VALUES (?, ?, ?, 1, 1, 0, ?, ?, ?, ?)",
        (trace_id, time.time_ns(), time.time_ns() + 10**6, time.time_ns(), evil, evil, evil),
    )
    conn.execute("INSERT INTO trace_services VALUES (?, ?, ?)", (trace_id, evil, time.time_ns()))
    conn.commit()
    conn.close()
    return trace_id


def _clean(text: str) -> None:
    for bad in ("\x1b", "\r", "\x07", "\u202e", "\x9b"):
        assert bad not in text, repr(text)


def test_hostile_rows_neither_crash_nor_drive_the_terminal(tmp_path):
    path = tmp_path / "spans.db"
    trace_id = _write_hostile_trace(path)
    code, out, err = run_cli("trace", "--db", str(path), trace_id[:6])  # nesting: no RecursionError
    assert code == 0, err
    _clean(out)
    assert "\\x1b" in out
    code, out, _ = run_cli("traces", "--db", str(path))
    assert code == 0
    _clean(out)
    code, out, _ = run_cli("query", "--db", str(path), "SELECT name, message FROM spans")
    assert code == 0
    _clean(out)
    code, out, _ = run_cli("query", "--db", str(path), "--json", "SELECT name FROM spans")
    _clean(out)
    assert json.loads(out)[0]["name"].startswith("ok\x1b")  # JSON escapes, the data is exact
    code, out, _ = run_cli("query", "--db", str(path), "SELECT attr(attributes, 'x') FROM spans")
    assert code == 0


def test_a_trace_id_that_is_not_hex_is_explained(store):
    code, _, err = run_cli("trace", "--db", str(store), "%' OR 1=1 --")
    assert code == 1
    assert "not a trace id" in err
