"""Shared helpers for the store tests: real spans, real exporters, the real `obs` command."""

from __future__ import annotations

import io
import os
import pwd
import sqlite3
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider

from obs import _cli

# The layout obs wrote before versioned migrations (main at 2100e55), verbatim.
LEGACY_SCHEMA = """
CREATE TABLE IF NOT EXISTS spans (
    trace_id        TEXT NOT NULL,
    span_id         TEXT NOT NULL,
    parent_span_id  TEXT,
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL,
    service_name    TEXT,
    scope           TEXT,
    start_time      TEXT NOT NULL,   -- UTC 'YYYY-MM-DD HH:MM:SS.ffffff': compares with datetime()
    end_time        TEXT NOT NULL,
    start_ns        INTEGER NOT NULL,
    end_ns          INTEGER NOT NULL,
    duration_ms     REAL NOT NULL,
    status          TEXT NOT NULL,   -- 'unset', 'ok' or 'error'
    status_message  TEXT,
    is_log          INTEGER NOT NULL DEFAULT 0,
    level           TEXT,
    message         TEXT,
    attributes      TEXT NOT NULL DEFAULT '{}',
    events          TEXT NOT NULL DEFAULT '[]',
    links           TEXT NOT NULL DEFAULT '[]',
    resource        TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (trace_id, span_id)
);
CREATE INDEX IF NOT EXISTS spans_start ON spans (start_ns);
CREATE INDEX IF NOT EXISTS spans_name ON spans (name, start_ns);
CREATE INDEX IF NOT EXISTS spans_parent ON spans (trace_id, parent_span_id);
"""

_provider = TracerProvider()


def spans(
    count: int, name: str = "work", *, attributes: dict[str, Any] | None = None
) -> list[ReadableSpan]:
    """``count`` finished spans, each the root of its own trace."""
    tracer = _provider.get_tracer("tests.store")
    out: list[ReadableSpan] = []
    for _ in range(count):
        span = tracer.start_span(name, attributes=attributes or {"http.route": "/r"})
        span.end()
        out.append(span)  # type: ignore[arg-type]
    return out


def rows(path: Path, sql: str = "SELECT count(*) FROM spans") -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def run_cli(*args: str) -> tuple[int, str, str]:
    """The `obs` command in this process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    old = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        code = _cli.main(list(args))
    finally:
        sys.stdout, sys.stderr = old
    return code, out.getvalue(), err.getvalue()


OBS = str(Path(sys.executable).parent / "obs")


def run_obs(
    *args: str, timeout: float = 60, user: str | None = None, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    """The installed `obs` command in a subprocess (as ``user`` when root can switch)."""
    command: Sequence[str] = [OBS, *args]
    if user is not None:
        uid = pwd.getpwnam(user).pw_uid
        gid = pwd.getpwnam(user).pw_gid
        command = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", *command]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, check=False, **kwargs
    )


def on_disk(path: Path) -> int:
    total = 0
    for p in (path, path.with_name(path.name + "-wal")):
        if p.exists():
            total += p.stat().st_size
    return total


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def wait_for(predicate: Any, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False
