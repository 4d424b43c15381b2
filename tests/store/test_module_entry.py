"""``python -m obs._cli`` runs the ``obs`` command (the example's runner prints traces so)."""

from __future__ import annotations

import subprocess
import sys

from obs._store import StoreExporter

from .helpers import spans


def test_python_dash_m_runs_the_obs_command(tmp_path):
    path = tmp_path / "m.db"
    exporter = StoreExporter(path)
    [span] = spans(1, "GET /m")
    exporter.export([span])
    exporter.shutdown()
    trace_id = format(span.context.trace_id, "032x")
    done = subprocess.run(
        [sys.executable, "-m", "obs._cli", "trace", "--db", str(path), trace_id, "--no-colour"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "GET /m" in done.stdout
