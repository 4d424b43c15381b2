"""``obs alerts`` (read-only listing) and ``obs alerts run`` (the foreground evaluator)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from obs._alerts import load_config
from obs._alerts.evaluator import Evaluator
from obs._cli import main
from obs._store import connect
from tests.alerts.helpers import Receiver, Spans

S = 1_000_000_000
OBS_COMMAND = "import sys; from obs._cli import main; sys.exit(main())"


def test_lists_rules_values_and_open_incidents(
    store: Path, spans: Spans, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    now = time.time_ns()
    spans.add(at_ns=now - S)
    failing = spans.add(at_ns=now - S, status="error")
    config = load_config(
        [
            {"name": "High error rate", "condition": "error_rate > 5%", "channels": ["hook"]},
            {"name": "Slow", "condition": "p95_latency > 1s", "window": 300},
        ],
        {"hook": receiver.url},
    )
    assert config is not None
    evaluator = Evaluator(config, store)
    evaluator.evaluate_once(now)
    try:
        assert main(["alerts", "--db", str(store)]) == 0
        out = capsys.readouterr().out
        assert "High error rate" in out
        assert "error_rate > 5% over 1m" in out
        assert "50%" in out  # the current value
        assert "breaching" in out
        assert "p95_latency > 1s over 5m" in out
        assert failing in out  # the open incident's example trace
        assert f"hook http://127.0.0.1:{receiver.port}/…" in out
        assert "SECRET" not in out  # the webhook's path is its secret

        assert main(["alerts", "--db", str(store), "--json"]) == 0
        status = json.loads(capsys.readouterr().out)
        assert [r["name"] for r in status["rules"]] == ["High error rate", "Slow"]
        (incident,) = status["open"]
        assert incident["rule"] == "High error rate"
        assert incident["example_trace_id"] == failing
        assert status["evaluator"]["pid"] == os.getpid()
    finally:
        evaluator.stop()


def test_listing_never_writes(
    store: Path, spans: Spans, capsys: pytest.CaptureFixture[str]
) -> None:
    spans.add(at_ns=time.time_ns())
    spans.close()
    before = store.read_bytes()
    assert main(["alerts", "--db", str(store)]) == 0
    assert "no alert rules recorded" in capsys.readouterr().out
    assert store.read_bytes() == before
    with connect(store) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert not any(t.startswith("alert_") for t in tables)


def test_run_once_from_a_file(
    store: Path, spans: Spans, receiver: Receiver, tmp_path: Path
) -> None:
    spans.add(at_ns=time.time_ns() - S, status="error")
    rules = tmp_path / "alerts.json"
    rules.write_text(
        json.dumps(
            {
                "channels": {"hook": receiver.url},
                "rules": [{"name": "errors", "condition": "errors > 0", "channels": ["hook"]}],
            }
        )
    )
    assert main(["alerts", "run", "--once", "--file", str(rules), "--db", str(store)]) == 0
    (body,) = receiver.wait_for(1)
    assert (body["rule"], body["state"], body["value"]) == ("errors", "firing", 1)


def test_run_in_the_foreground_until_ctrl_c(
    store: Path, spans: Spans, receiver: Receiver, tmp_path: Path
) -> None:
    spans.add(at_ns=time.time_ns() - S, status="error")
    rules = tmp_path / "alerts.toml"
    rules.write_text(
        'interval = "0.2s"\n'
        "[[rules]]\n"
        'name = "errors"\n'
        'condition = "errors > 0"\n'
        f'channels = ["{receiver.url}"]\n'
    )
    env = {**os.environ, "OBS_ALERTS_FILE": str(rules), "OBS_STORE_PATH": str(store)}
    proc = subprocess.Popen(
        [sys.executable, "-c", OBS_COMMAND, "alerts", "run"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert len(receiver.wait_for(1, timeout=30)) == 1
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0
        assert proc.stderr is not None
        err = proc.stderr.read()
        assert "1 rule(s)" in err
        assert "SECRET" not in err
        with connect(store) as conn:  # the lease is handed back at exit
            assert conn.execute("SELECT count(*) FROM alert_lease").fetchone()[0] == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_store_text_cannot_drive_the_terminal(
    store: Path, spans: Spans, capsys: pytest.CaptureFixture[str]
) -> None:
    now = time.time_ns()
    spans.add(at_ns=now - S, status="error", service="api\x1b[2J\x1b]0;owned\x07")
    config = load_config([{"name": "r", "condition": "errors > 0", "group_by": "service"}])
    assert config is not None
    evaluator = Evaluator(config, store)
    try:
        (fired,) = evaluator.evaluate_once(now)
        assert fired.group == {"service": "api\x1b[2J\x1b]0;owned\x07"}
        assert main(["alerts", "--db", str(store)]) == 0
        out = capsys.readouterr().out
        assert "\x1b" not in out
        assert "\x07" not in out
        assert "service=api?[2J?]0;owned?" in out
    finally:
        evaluator.stop()
