"""The store under faults: every span not written is counted and said, and the store heals."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import subprocess
import time
from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export import SpanExportResult

import obs
from obs import _diagnostics
from obs._export_health import ReportingSpanExporter
from obs._store import StoreExporter, _writer, open_for_writing, schema_version

from .helpers import LEGACY_SCHEMA, is_root, rows, run_cli, spans


def reporting(path: Path) -> tuple[StoreExporter, ReportingSpanExporter]:
    store = StoreExporter(path)
    return store, ReportingSpanExporter(store, f"store {path}")


def test_a_deleted_store_is_noticed_and_recreated(tmp_path, obs_capture):
    path = tmp_path / "spans.db"
    obs_capture.configure(store=path)
    with obs.span("before"):
        pass
    assert obs.force_flush()
    for p in (path, path.with_name("spans.db-wal"), path.with_name("spans.db-shm")):
        p.unlink(missing_ok=True)
    with obs.span("after"):
        pass
    assert obs.force_flush()
    assert rows(path, "SELECT name FROM spans") == [("after",)]


def test_a_replaced_store_is_noticed(tmp_path):
    path = tmp_path / "spans.db"
    store = StoreExporter(path)
    assert store.export(spans(3)) is SpanExportResult.SUCCESS
    moved = tmp_path / "moved.db"
    path.rename(moved)
    assert store.export(spans(2)) is SpanExportResult.SUCCESS
    assert store.reopened == 1
    assert rows(path) == [(2,)]
    assert rows(moved) == [(3,)]


def test_a_new_store_file_never_appears_without_its_tables(tmp_path, monkeypatch):
    path = tmp_path / "spans.db"
    seen: list[bool] = []
    build = _writer._build

    def watching_build(tmp: Path) -> None:
        build(tmp)
        seen.append(path.exists())  # the real path is linked only after the layout exists

    monkeypatch.setattr(_writer, "_build", watching_build)
    open_for_writing(path).close()
    assert seen == [False]
    assert rows(path, "SELECT count(*) FROM traces") == [(0,)]


@pytest.mark.parametrize("missing", [None, "links"])
def test_an_older_layout_is_upgraded_in_place(tmp_path, missing):
    path = tmp_path / "spans.db"
    schema = LEGACY_SCHEMA
    if missing:
        schema = "\n".join(
            line for line in schema.splitlines() if not line.strip().startswith(missing)
        )
    conn = sqlite3.connect(path)
    conn.executescript(schema)
    now = time.time_ns()
    conn.execute(
        "INSERT INTO spans (trace_id, span_id, parent_span_id, name, kind, start_time, end_time, "
        "start_ns, end_ns, duration_ms, status) VALUES "
        "('ab' || hex(zeroblob(15)), '01', NULL, 'GET /old', 'server', '', '', ?1, ?1 + 5, 0, "
        "'ok'), "
        "('ab' || hex(zeroblob(15)), '02', '01', 'child', 'internal', '', '', ?1 + 1, ?1 + 2, 0, "
        "'error')",
        (now,),
    )
    conn.commit()
    conn.close()
    store = StoreExporter(path)
    assert store.export(spans(2, "new")) is SpanExportResult.SUCCESS
    assert rows(path, "PRAGMA user_version") == [(schema_version(),)]
    assert rows(path) == [(4,)]
    code, out, _ = run_cli("traces", "--db", str(path), "--json")
    assert code == 0
    assert '"root": "GET /old"' in out
    old = rows(path, "SELECT span_count, error_count FROM traces WHERE root_name = 'GET /old'")
    assert old == [(2, 1)]


def test_a_newer_layout_is_left_alone_and_said_once(tmp_path, caplog):
    path = tmp_path / "spans.db"
    open_for_writing(path).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    before = path.read_bytes()
    _store, exporter = reporting(path)
    caplog.set_level(logging.WARNING, logger="obs")
    for _ in range(3):
        assert exporter.export(spans(5)) is SpanExportResult.FAILURE
    assert exporter.dropped == 15
    assert path.read_bytes() == before
    warnings = [r.getMessage() for r in caplog.records if "is failing" in r.getMessage()]
    assert len(warnings) == 1
    assert "newer obs" in warnings[0]
    assert "upgrade obs" in warnings[0]
    code, _, err = run_cli("traces", "--db", str(path))
    assert code == 1
    assert "newer obs" in err


def test_each_outage_and_its_recovery_are_said_and_counted(tmp_path, caplog, obs_capture):
    path = tmp_path / "spans.db"
    open_for_writing(path).close()
    _diagnostics.reset_said()
    obs_capture.configure(store=False)
    _store, exporter = reporting(path)
    caplog.set_level(logging.WARNING, logger="obs")

    def plant() -> None:
        conn = sqlite3.connect(path)
        conn.execute("CREATE TRIGGER planted AFTER INSERT ON spans BEGIN SELECT 1; END")
        conn.close()

    def remove() -> None:
        conn = sqlite3.connect(path)
        conn.execute("DROP TRIGGER planted")
        conn.close()

    for _ in range(2):  # two outages: both said, both recoveries said
        plant()
        assert exporter.export(spans(4)) is SpanExportResult.FAILURE
        assert exporter.export(spans(4)) is SpanExportResult.FAILURE
        assert exporter.failing
        assert not exporter.force_flush()
        remove()
        assert exporter.export(spans(1)) is SpanExportResult.SUCCESS
        assert exporter.force_flush()
    messages = [r.getMessage() for r in caplog.records]
    assert sum("is failing" in m for m in messages) == 2
    assert sum("works again; 8 spans were dropped" in m for m in messages) == 2
    assert exporter.dropped == 16
    points = obs_capture.metrics()["obs.export.dropped_spans"]
    counted = {dict(p.attributes)["exporter"]: p.value for p in points}
    assert counted[f"store {path}"] == 16


def test_force_flush_is_false_when_the_store_lost_spans(tmp_path, obs_capture):
    path = tmp_path / "spans.db"
    open_for_writing(path).close()
    os.chmod(path, 0o666)  # writable by anyone: refused
    obs_capture.configure(store=path)
    with obs.span("lost"):
        pass
    assert obs.force_flush() is False


def test_files_are_private(tmp_path):
    path = tmp_path / "new" / "spans.db"
    StoreExporter(path).export(spans(1))
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    for p in (path, path.with_name("spans.db-wal"), path.with_name("spans.db-shm")):
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p


def test_an_older_obs_world_readable_file_is_made_private(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path(".obs").mkdir(mode=0o755)
    os.chmod(".obs", 0o755)
    conn = sqlite3.connect(".obs/spans.db")
    conn.executescript(LEGACY_SCHEMA)
    conn.close()
    os.chmod(".obs/spans.db", 0o644)
    assert StoreExporter(None).export(spans(1)) is SpanExportResult.SUCCESS
    assert stat.S_IMODE(os.stat(".obs").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(".obs/spans.db").st_mode) == 0o600


def test_a_group_or_world_writable_store_is_refused(tmp_path):
    path = tmp_path / "spans.db"
    open_for_writing(path).close()
    for mode in (0o666, 0o620):
        os.chmod(path, mode)
        store = StoreExporter(path)
        assert store.export(spans(2)) is SpanExportResult.FAILURE
        assert "writable by group or others" in (store.failure_reason or "")
    assert rows(path) == [(0,)]


@pytest.mark.skipif(not is_root(), reason="chown to another user needs root")
def test_a_store_owned_by_another_user_is_refused(tmp_path):
    path = tmp_path / "spans.db"
    open_for_writing(path).close()
    os.chown(path, 65534, 65534)
    store = StoreExporter(path)
    assert store.export(spans(2)) is SpanExportResult.FAILURE
    assert "belongs to another user" in (store.failure_reason or "")
    assert rows(path) == [(0,)]


def test_a_planted_trigger_or_view_is_refused_and_never_runs(tmp_path):
    path = tmp_path / "spans.db"
    open_for_writing(path).close()
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE loot (x)")
    conn.execute(
        "CREATE TRIGGER steal AFTER INSERT ON spans BEGIN INSERT INTO loot VALUES (new.name); END"
    )
    conn.close()
    store = StoreExporter(path)
    assert store.export(spans(2, "secret")) is SpanExportResult.FAILURE
    assert "trigger" in (store.failure_reason or "")
    assert rows(path, "SELECT count(*) FROM loot") == [(0,)]
    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER steal")
    conn.execute("CREATE VIEW v AS SELECT 1")
    conn.close()
    assert store.export(spans(2)) is SpanExportResult.FAILURE
    assert "view" in (store.failure_reason or "")


def test_a_tampered_obs_index_is_refused_but_unknown_tables_are_left_alone(tmp_path):
    path = tmp_path / "spans.db"
    open_for_writing(path).close()
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE metrics_of_another_module (x)")
    conn.execute("CREATE INDEX other_index ON metrics_of_another_module (x)")
    conn.close()
    assert StoreExporter(path).export(spans(1)) is SpanExportResult.SUCCESS
    conn = sqlite3.connect(path)
    conn.execute("DROP INDEX spans_name")
    conn.execute("CREATE INDEX spans_name ON spans (lower(name))")
    conn.close()
    store = StoreExporter(path)
    assert store.export(spans(1)) is SpanExportResult.FAILURE
    assert "spans_name" in (store.failure_reason or "")


def test_a_symlinked_default_directory_is_not_followed(tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    (work / ".obs").symlink_to(elsewhere)
    monkeypatch.chdir(work)
    monkeypatch.delenv("OBS_STORE_PATH", raising=False)
    store = StoreExporter(None)
    assert store.export(spans(1)) is SpanExportResult.FAILURE
    assert "symlink" in (store.failure_reason or "")
    assert list(elsewhere.iterdir()) == []
    # Named explicitly, the same path is the user's choice and is used.
    assert StoreExporter(work / ".obs" / "spans.db").export(spans(1)) is SpanExportResult.SUCCESS
    assert (elsewhere / "spans.db").exists()


@pytest.fixture
def tiny_tmpfs(tmp_path):
    if not is_root():
        pytest.skip("mounting a small tmpfs needs root")
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_is_counted_and_writing_resumes_when_freed(tiny_tmpfs, caplog):
    path = tiny_tmpfs / "spans.db"
    filler = tiny_tmpfs / "filler"
    store, exporter = reporting(path)
    store.pruner.max_bytes = 100 * 1024 * 1024  # the cap is not what stops it here
    assert exporter.export(spans(10)) is SpanExportResult.SUCCESS
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:  # fill the filesystem
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)
    caplog.set_level(logging.WARNING, logger="obs")
    lost = 0
    for _ in range(5):
        if exporter.export(spans(200, attributes={"blob": "x" * 500})) is SpanExportResult.FAILURE:
            lost += 200
    assert lost > 0
    assert exporter.dropped == lost
    assert "full" in (store.failure_reason or "") or "disk" in (store.failure_reason or "")
    filler.unlink()
    assert exporter.export(spans(3)) is SpanExportResult.SUCCESS
    assert any("works again" in r.getMessage() for r in caplog.records)
    written = rows(path)[0][0]
    assert written == 10 + 5 * 200 - lost + 3


def test_an_older_layout_not_yet_upgraded_is_still_read(tmp_path):
    path = tmp_path / "spans.db"
    conn = sqlite3.connect(path)
    conn.executescript(LEGACY_SCHEMA)
    conn.execute(
        "INSERT INTO spans (trace_id, span_id, name, kind, start_time, end_time, start_ns, "
        "end_ns, duration_ms, status) VALUES ('ab' || hex(zeroblob(15)), '01', 'GET /old', "
        "'server', '', '', 1, 5, 0, 'ok')"
    )
    conn.commit()
    conn.close()
    code, out, _ = run_cli("trace", "--db", str(path), "ab00")
    assert code == 0
    assert "GET /old" in out
    code, _, err = run_cli("traces", "--db", str(path))
    assert code == 1
    assert "older layout" in err
    assert rows(path, "PRAGMA user_version") == [(0,)]  # reading never upgrades
