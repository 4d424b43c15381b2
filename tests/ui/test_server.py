"""The server without a browser: read-only SQL, the security headers and checks, the API."""

from __future__ import annotations

import http.client
import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest

from obs_ui import UIServer
from obs_ui._db import QueryTimeout, open_read_only, time_limit
from tests.ui.conftest import serve
from tests.ui.stores import http_spans, workflow_spans, write


def request(
    server: UIServer,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(str(host), port, timeout=10)
    data = json.dumps(body).encode() if body is not None else None
    sent = {"Host": f"127.0.0.1:{port}"}
    if data is not None:
        sent["Content-Type"] = "application/json"
    sent.update(headers or {})
    conn.request(method, path, body=data, headers=sent)
    response = conn.getresponse()
    payload = response.read()
    conn.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, payload


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return write(tmp_path / "spans.db", http_spans() + workflow_spans())


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM spans",
        "INSERT INTO spans (trace_id) VALUES ('x')",
        "UPDATE spans SET name = 'x'",
        "DROP TABLE spans",
        "CREATE TABLE t (x)",
        "ATTACH DATABASE '/tmp/obs-ui-attack.db' AS a",
        "PRAGMA journal_mode = DELETE",
        "PRAGMA query_only = OFF",
        "VACUUM",
    ],
)
def test_the_explore_sql_cannot_change_the_store(store: Path, sql: str) -> None:
    before = store.read_bytes()
    with serve(store) as server:
        status, _, body = request(server, "POST", "/api/query", {"sql": sql})
        assert status == 400, body
        status, _, body = request(
            server, "POST", "/api/query", {"sql": "SELECT count(*) FROM spans"}
        )
        assert json.loads(body)["rows"] == [[len(http_spans()) + len(workflow_spans())]]
    assert store.read_bytes() == before
    assert not Path("/tmp/obs-ui-attack.db").exists()


def test_a_runaway_query_is_stopped_at_its_time_limit(store: Path) -> None:
    conn = open_read_only(store)
    endless = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n"
    )
    with pytest.raises(QueryTimeout), time_limit(conn, 0.3):
        conn.execute(endless).fetchall()
    # the connection is still usable afterwards
    assert conn.execute("SELECT 1").fetchone() == (1,)
    with serve(store, time_limit_s=0.3) as server:
        status, _, body = request(server, "POST", "/api/query", {"sql": endless})
    assert status == 400
    assert b"longer than" in body


def test_explore_results_are_bounded_in_bytes_and_rows(store: Path) -> None:
    """Each value is capped by the store, but many large rows must not pile up either."""
    big = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40) "
        "SELECT i, zeroblob(1000000) AS blob FROM n"
    )  # 40 MB of blobs: over the page's budget
    many = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT i FROM n"
    with serve(store) as server:
        status, _, body = request(server, "POST", "/api/query", {"sql": big})
        assert status == 400, body[:200]
        assert b"too large" in body
        status, _, body = request(server, "POST", "/api/query", {"sql": many})
        assert status == 200
        answer = json.loads(body)
        assert len(answer["rows"]) == 5000
        assert answer["truncated"] is True


def test_headers_content_types_and_csp(store: Path) -> None:
    with serve(store) as server:
        status, headers, body = request(server, "GET", "/")
        assert status == 200
        assert headers["content-type"] == "text/html; charset=utf-8"
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert "default-src 'none'" in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert b'<script type="module" src="/static/app.js"></script>' in body
        assert b"<script>" not in body  # no inline script
        status, headers, _ = request(server, "GET", "/static/app.js")
        assert headers["content-type"].startswith("text/javascript")
        status, headers, _ = request(server, "GET", "/api/meta")
        assert headers["content-type"] == "application/json; charset=utf-8"
        assert headers["x-content-type-options"] == "nosniff"
        for path in ("/static/../_server.py", "/static/%2e%2e/_server.py", "/etc/passwd"):
            assert request(server, "GET", path)[0] == 404


def test_a_foreign_host_header_is_refused(store: Path) -> None:
    """DNS rebinding: a page on evil.example resolving to 127.0.0.1 sends Host: evil.example."""
    with serve(store) as server:
        port = server.server_address[1]
        for host in ("evil.example", f"evil.example:{port}", "127.0.0.1:1"):
            status, _, _ = request(server, "GET", "/api/meta", headers={"Host": host})
            assert status == 421
        assert request(server, "GET", "/api/meta", headers={"Host": f"localhost:{port}"})[0] == 200


def test_a_cross_origin_or_non_json_post_is_refused(store: Path) -> None:
    with serve(store) as server:
        status, _, _ = request(
            server, "POST", "/api/query", {"sql": "SELECT 1"}, {"Origin": "http://evil.example"}
        )
        assert status == 403
        status, _, _ = request(
            server, "POST", "/api/query", {"sql": "SELECT 1"}, {"Content-Type": "text/plain"}
        )
        assert status == 415


def test_another_address_needs_a_token_and_then_every_request_does(store: Path) -> None:
    with pytest.raises(ValueError, match="without an access token"):
        UIServer(store, "0.0.0.0", 0)
    with serve(store, token="s3cret") as server:
        assert request(server, "GET", "/api/meta")[0] == 401
        assert request(server, "GET", "/")[0] == 401
        ok = {"Authorization": "Bearer s3cret"}
        assert request(server, "GET", "/api/meta", headers=ok)[0] == 200
        # reached under a name of the machine's: the token, not the Host, decides
        named = {**ok, "Host": "build-box.lan:8080"}
        assert request(server, "GET", "/api/meta", headers=named)[0] == 200
        assert request(server, "GET", "/api/meta", headers={"Host": "build-box.lan:8080"})[0] == 401
        assert (
            request(server, "GET", "/api/meta", headers={"Cookie": "obs_ui_token=nope"})[0] == 401
        )
        status, headers, _ = request(server, "GET", "/?token=s3cret")
        assert status == 303
        cookie = headers["set-cookie"].split(";")[0]
        assert "HttpOnly" in headers["set-cookie"]
        assert "SameSite=Strict" in headers["set-cookie"]
        assert request(server, "GET", "/api/meta", headers={"Cookie": cookie})[0] == 200


def test_the_trace_list_and_its_live_cursor(store: Path) -> None:
    with serve(store) as server:
        status, _, body = request(server, "GET", "/api/traces?limit=500")
        listed = json.loads(body)
        assert status == 200
        assert len(listed["traces"]) == 10 + 4 + 3 + 2
        d1 = next(t for t in listed["traces"] if t["trace_id"].startswith("d1"))
        assert (d1["root"], d1["spans"], d1["logs"], d1["errors"]) == ("POST /orders", 7, 1, 0)
        assert d1["services"] == ["shop", "worker"]

        # filters: status, service, min duration, attribute
        def ids(query: str) -> set[str]:
            rows = json.loads(request(server, "GET", "/api/traces?limit=500&" + query)[2])
            return {t["trace_id"][:3] for t in rows["traces"]}

        assert ids("status=error") == {"a03", "a07", "d20"}
        assert ids("service=other") == {"c00", "c01", "c02"}
        assert ids("min_ms=70") == {"b03", "c00", "c01", "c02"}
        assert ids("attr=http.response.status_code%3D500") == {"a03", "a07"}
        assert ids("attr=burr.action%3Dreply") == {"d20"}
        assert ids("name=triage") == {"d10", "d20"}
        assert request(server, "GET", "/api/traces?min_ms=abc")[0] == 400
        # nothing new since the cursor
        cursor = listed["cursor"]
        assert json.loads(request(server, "GET", f"/api/traces?after={cursor}")[2])["traces"] == []


def test_a_trace_by_id_or_prefix(store: Path) -> None:
    with serve(store) as server:
        status, _, body = request(server, "GET", "/api/trace/d2")
        trace = json.loads(body)
        assert status == 200
        assert len(trace["spans"]) == 7
        failing = next(s for s in trace["spans"] if s["name"] == "step reply")
        assert failing["events"][0]["attributes"]["exception.type"] == "ValueError"
        assert request(server, "GET", "/api/trace/ffff")[0] == 404
        assert request(server, "GET", "/api/trace/')%20OR%201=1--")[0] == 404


def test_the_cli_offers_ui(capsys: pytest.CaptureFixture[str]) -> None:
    from obs._cli import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["ui", "--help"])
    assert "--port" in capsys.readouterr().out


def test_read_only_connection_refuses_writes_even_without_the_server(store: Path) -> None:
    conn = open_read_only(store)
    with pytest.raises(sqlite3.DatabaseError):
        conn.execute("DELETE FROM spans")


OBS = [sys.executable, "-c", "import sys; from obs._cli import main; sys.exit(main())"]


def test_obs_ui_serves_on_a_free_loopback_port_and_prints_it(store: Path) -> None:
    import re
    import subprocess
    import urllib.request

    proc = subprocess.Popen(
        [*OBS, "ui", "--db", str(store)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert match, line
        with urllib.request.urlopen(match.group(0) + "api/meta", timeout=10) as response:
            meta = json.loads(response.read())
        assert meta["services"] == ["other", "shop", "worker"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    refused = subprocess.run(
        [*OBS, "ui", "--db", str(store), "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert refused.returncode == 2
    assert "without an access token" in refused.stderr


def test_cost_roll_ups_reach_ancestors_that_started_before_the_window(tmp_path: Path) -> None:
    from tests.ui.stores import NOW_NS, S

    store = write(
        tmp_path / "spans.db",
        [
            S(
                "h1",
                "1",
                "POST /long",
                kind="server",
                at_ms=600_000,
                ms=590_000,
                attributes={"http.route": "/long", "http.request.method": "POST"},
            ),
            S(
                "h1",
                "2",
                "chat gpt-4o",
                parent="1",
                kind="client",
                at_ms=20_000,
                attributes={
                    "gen_ai.operation.name": "chat",
                    "gen_ai.request.model": "gpt-4o",
                    "gen_ai.usage.input_tokens": 1000,
                    "gen_ai.usage.output_tokens": 0,
                },
            ),
        ],
    )
    since = NOW_NS - 60 * 1_000_000_000  # the root started 10 minutes ago, the call 20 s ago
    with serve(store) as server:
        status, _, body = request(server, "GET", f"/api/dashboard/llm?since={since}")
        assert status == 200, body
        panels = {p["id"]: p for p in json.loads(body)["panels"]}
        assert panels["cost_by_route"]["rows"] == [["POST /long", 1, 0.0025]]
        # and the trace list's time filter
        listed = json.loads(request(server, "GET", f"/api/traces?since={since}")[2])
        assert [t["trace_id"][:2] for t in listed["traces"]] == ["h1"]
        older = NOW_NS - 700 * 1_000_000_000
        until = NOW_NS - 300 * 1_000_000_000
        listed = json.loads(request(server, "GET", f"/api/traces?since={older}&until={until}")[2])
        assert [t["root"] for t in listed["traces"]] == ["POST /long"]
        empty = json.loads(request(server, "GET", f"/api/traces?since={NOW_NS}")[2])
        assert empty["traces"] == []
