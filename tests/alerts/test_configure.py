"""``obs.configure(alerts=...)`` starts one evaluator per process; shutdown and reconfiguring
stop it and hand the store's lease back."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import obs
from obs import _alerts
from obs._store import connect
from tests.alerts.helpers import Receiver


def lease_holders(store: Path) -> list[tuple[str, int]]:
    with connect(store) as conn:
        try:
            return conn.execute("SELECT host, pid FROM alert_lease").fetchall()
        except sqlite3.OperationalError:  # no alert tables yet
            return []


def wait_until(predicate: object, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


def test_configure_runs_the_evaluator_and_shutdown_stops_it(
    tmp_path: Path, receiver: Receiver, monkeypatch: object
) -> None:
    store = tmp_path / "spans.db"
    try:
        obs.configure(
            service_name="svc",
            console=False,
            store=store,
            alerts={
                "rules": [
                    {
                        "name": "Errors",
                        "condition": "errors > 0",
                        "spans": "all",
                        "channels": ["hook"],
                    }
                ],
                "interval": "0.1s",
            },
            alert_channels={"hook": receiver.url},
        )
        evaluator = _alerts.current()
        assert evaluator is not None
        assert wait_until(lambda: lease_holders(store))
        try:
            with obs.span("charge"):
                raise RuntimeError("declined")
        except RuntimeError:
            pass
        obs.force_flush()
        (body,) = receiver.wait_for(1)
        assert body["rule"] == "Errors"
        assert body["example_trace_id"]

        obs.configure(service_name="svc", console=False, store=store)  # no alerts any more
        assert _alerts.current() is None
        assert lease_holders(store) == []
    finally:
        obs.shutdown()
    assert _alerts.current() is None


def test_shutdown_hands_the_lease_back(tmp_path: Path) -> None:
    store = tmp_path / "spans.db"
    obs.configure(
        console=False,
        store=store,
        alerts={"rules": [{"name": "r", "condition": "errors > 0"}], "interval": "0.1s"},
    )
    try:
        assert wait_until(lambda: lease_holders(store))
    finally:
        obs.shutdown()
    assert lease_holders(store) == []
