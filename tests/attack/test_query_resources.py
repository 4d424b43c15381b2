"""`obs query` against SQL built to exhaust memory, and output built to drive the terminal.

A read-only authorizer and a time limit do not bound memory: one SQLite step can build a
gigabyte (``printf('%.*c', 1e9, 'x')``, ``randomblob(1e9)``, a recursive CTE doubling a
string), and a time-limited query can still return more rows than fit in memory.
"""

from __future__ import annotations

import io
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export import SpanExportResult

from obs import _cli
from obs._store import StoreExporter, open_for_writing
from tests.store.helpers import OBS, spans

# Far above what a legitimate query needs, far below what the attacks below would take.
_PEAK_LIMIT_KB = 400 * 1024
# A ceiling on the child so the unfixed code fails the test rather than the machine.
_ADDRESS_SPACE = 1536 * 1024 * 1024


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "spans.db"
    assert StoreExporter(path).export(spans(3)) is SpanExportResult.SUCCESS
    return path


def _limited_obs(*args: str) -> tuple[subprocess.CompletedProcess[str], int]:
    """The `obs` command's result and its peak resident memory in KB."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (_ADDRESS_SPACE, _ADDRESS_SPACE))

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([OBS, *args], stdout=out, stderr=err, preexec_fn=limit)
        _, status, usage = os.wait4(proc.pid, 0)  # its peak memory, which Popen cannot give
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(proc.args, code, out.read(), err.read()), usage.ru_maxrss


@pytest.mark.skipif(sys.version_info < (3, 11), reason="Connection.setlimit is 3.11+")
@pytest.mark.parametrize(
    "sql",
    [
        "SELECT length(printf('%.*c', 1000000000, 'x'))",
        "SELECT length(randomblob(1000000000))",
        "SELECT zeroblob(1000000000)",
        "WITH RECURSIVE r(s, i) AS (SELECT 'x', 0 UNION ALL SELECT s || s, i + 1 FROM r "
        "WHERE i < 40) SELECT max(length(s)) FROM r",
    ],
)
def test_one_huge_value_is_refused_not_built(store: Path, sql: str) -> None:
    result, peak_kb = _limited_obs("query", "--db", str(store), "--timeout", "60", sql)
    assert peak_kb < _PEAK_LIMIT_KB, (peak_kb, result)
    assert "Traceback" not in result.stderr
    if "printf" in sql:  # SQLite's printf answers NULL rather than fail
        assert result.returncode == 0, result
        return
    assert result.returncode == 2, result
    assert "too large" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_many_large_rows_stop_at_the_result_budget(store: Path) -> None:
    sql = (
        "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 100000) "
        "SELECT zeroblob(20000000) FROM r"
    )
    result, peak_kb = _limited_obs("query", "--db", str(store), "--timeout", "60", "--json", sql)
    assert peak_kb < _PEAK_LIMIT_KB, (peak_kb, result)
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    assert "too large" in result.stderr
    assert result.stdout == ""


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_csv_column_names_on_a_terminal_are_neutralised(store: Path) -> None:
    sql = 'SELECT 1 AS "x\x1b]0;pwned\x07\x1b[2J", 2 AS "y\u202ez"'
    old = sys.stdout
    sys.stdout = terminal = _Terminal()
    try:
        code = _cli.main(["query", "--db", str(store), "--csv", sql])
    finally:
        sys.stdout = old
    assert code == 0
    out = terminal.getvalue()
    for bad in ("\x1b", "\x07", "\u202e"):
        assert bad not in out, repr(out)
    assert "\\x1b" in out


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("abc", "def"),
        (float("inf"), float("-inf")),
        (b"\x00\x01", 5),
        (1.5, "x"),
        (2**63 - 1, -(2**63)),
    ],
)
@pytest.mark.parametrize("command", ["traces", "trace"])
def test_stored_times_of_the_wrong_type_do_not_crash_the_views(tmp_path, start, end, command):
    path = tmp_path / "spans.db"
    open_for_writing(path).close()
    trace_id = "ab" * 16
    conn = sqlite3.connect(path)
    conn.execute(
        "INSERT INTO spans (trace_id, span_id, name, kind, start_time, end_time, start_ns, "
        "end_ns, duration_ms, status) VALUES (?, '01', 'n', 'internal', '', '', ?, ?, 0, 'ok')",
        (trace_id, start, end),
    )
    conn.execute(
        "INSERT INTO spans (trace_id, span_id, parent_span_id, name, kind, start_time, end_time, "
        "start_ns, end_ns, duration_ms, status) VALUES (?, '02', '01', 'n', 'internal', '', '', "
        "5, 6, 0, 'ok')",
        (trace_id,),
    )
    conn.execute(
        "INSERT INTO traces VALUES (?, ?, ?, 'two', x'00', 0, ?, 'n', 'n', 's')",
        (trace_id, start, end, time.time_ns()),
    )
    conn.commit()
    conn.close()
    args = ["traces"] if command == "traces" else ["trace", "abab"]
    result = subprocess.run(
        [OBS, *args, "--db", str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


def test_ago_with_out_of_range_seconds_answers_instead_of_failing(store: Path) -> None:
    out = io.StringIO()
    old = sys.stdout
    sys.stdout = out
    try:
        code = _cli.main(
            [
                "query",
                "--db",
                str(store),
                "--json",
                "SELECT ago(1e12) AS far, ago(-1e12) AS ahead, ago(1e400) AS inf, "
                "ago('x') AS text, "
                "(SELECT count(*) FROM spans WHERE start_ns > ago(1e12)) AS n",
            ]
        )
    finally:
        sys.stdout = old
    assert code == 0
    row = json.loads(out.getvalue())[0]
    assert row["far"] == -(2**63)
    assert row["ahead"] == 2**63 - 1
    assert row["inf"] is None
    assert row["text"] is None
    assert row["n"] == 3
