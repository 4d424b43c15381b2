"""What ``import obs`` and the ``obs`` command load, and how the trace list reads the store.

``obs traces`` answers from indexes in well under a millisecond; what the user waits for is
Python importing. The store commands must therefore load argparse, sqlite3 and the store reader
only, never the OpenTelemetry SDK, alerts or configuration (structure, not timing: figures are
in the README, measured with ``benchmarks/store_size.py``).
"""

from __future__ import annotations

import functools
import json
import sqlite3
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from obs import _cli
from obs._store import StoreExporter, _reader

from .helpers import spans

#: Loaded by none of the store commands (nor by ``import obs``), when a bare interpreter does
#: not already load it.
HEAVY = (
    "opentelemetry.sdk",
    "obs._alerts",
    "obs._config",
    "obs._scrubbing",
    "obs._logging_bridge",
    "obs._store._writer",
    "importlib.metadata",
)

RUN_COMMAND = """
import json, sys
from obs._cli import main
code = main(sys.argv[2:])
with open(sys.argv[1], "w") as out:
    json.dump(sorted(sys.modules), out)
sys.exit(code)
"""


@functools.cache
def _bare() -> frozenset[str]:
    """What a bare interpreter of this environment has loaded before any program runs."""
    out = subprocess.check_output(
        [sys.executable, "-c", "import json, sys; print(json.dumps(sorted(sys.modules)))"],
        text=True,
        timeout=120,
    )
    return frozenset(json.loads(out))


def _loaded_by(program: str, tmp_path: Path, *args: str) -> set[str]:
    report = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", program, str(report), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(report.read_text()))


def _heavy(modules: set[str]) -> list[str]:
    banned = [h for h in HEAVY if h not in _bare()]
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in banned))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("cli") / "spans.db"
    exporter = StoreExporter(path)
    made = spans(3, "GET /orders")
    exporter.export(made)
    exporter.shutdown()
    return path, format(made[0].context.trace_id, "032x")


@pytest.mark.parametrize("command", ["traces", "trace", "query"])
def test_store_commands_load_no_sdk_alerts_or_config(
    command: str, store: tuple[Path, str], tmp_path: Path
) -> None:
    path, trace_id = store
    extra = {"traces": [], "trace": [trace_id[:8]], "query": ["SELECT count(*) FROM spans"]}
    modules = _loaded_by(RUN_COMMAND, tmp_path, command, "--db", str(path), *extra[command])
    assert "obs._store._reader" in modules  # it did read the store
    assert _heavy(modules) == []


def test_import_obs_loads_no_sdk(tmp_path: Path) -> None:
    program = "import json, sys, obs; json.dump(sorted(sys.modules), open(sys.argv[1], 'w'))"
    assert _heavy(_loaded_by(program, tmp_path)) == []


PUBLIC_NAMES = """
import importlib, json, sys
package = importlib.import_module(sys.argv[2])
problems = []
for name in package.__all__:
    if name in vars(package):
        problems.append(f"{name} loaded before its first use")
    value = getattr(package, name)
    if vars(package).get(name) is not value:
        problems.append(f"{name} not kept in the namespace after its first use")
    module, _, attribute = package._EXPORTS[name].partition(":")
    if getattr(importlib.import_module(module), attribute or name) is not value:
        problems.append(f"{name} is not {package._EXPORTS[name]}")
    if name not in dir(package):
        problems.append(f"{name} missing from dir()")
json.dump(problems, open(sys.argv[1], "w"))
"""


@pytest.mark.parametrize("package", ["obs", "obs._store"])
def test_every_public_name_resolves_once_and_is_kept(package: str, tmp_path: Path) -> None:
    report = tmp_path / "problems.json"
    done = subprocess.run(
        [sys.executable, "-c", PUBLIC_NAMES, str(report), package],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(report.read_text()) == []


def test_from_obs_import_names_and_unknown_names_fail() -> None:
    import obs
    from obs import configure, extract, settings, span  # noqa: F401

    assert sorted(obs.__all__) == sorted(obs._EXPORTS)
    assert set(obs.__all__) <= set(dir(obs))
    with pytest.raises(AttributeError, match="no attribute 'spn'"):
        obs.spn  # noqa: B018
    with pytest.raises(ImportError):
        from obs import spn  # type: ignore[attr-defined]  # noqa: F401


def test_help_still_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        _cli.main(["--help"])
    assert exit_.value.code == 0
    listed = capsys.readouterr().out
    plugins = [entry.name for entry in entry_points(group="obs.commands")]
    for command in ["query", "traces", "trace", "integrations", "run", "alerts", *plugins]:
        assert f"\n    {command}" in listed, command


def test_a_plugin_command_is_found_when_named(capsys: pytest.CaptureFixture[str]) -> None:
    if not any(entry.name == "ui" for entry in entry_points(group="obs.commands")):
        pytest.skip("obs-ui is not installed")
    with pytest.raises(SystemExit) as exit_:
        _cli.main(["ui", "--help"])
    assert exit_.value.code == 0
    assert "usage: obs ui" in capsys.readouterr().out


def test_trace_list_reads_root_status_by_primary_key(store: tuple[Path, str]) -> None:
    # SQLite preferred the (name, start_ns) index for the root's status code, walking every
    # span named like the root (all of a route's requests) for each trace listed.
    conn = sqlite3.connect(f"file:{store[0]}?mode=ro", uri=True)
    try:
        sql = f"SELECT {_reader._TRACE_COLUMNS} FROM traces t ORDER BY t.start_ns DESC LIMIT 20"
        plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql)]
    finally:
        conn.close()
    searches = [step for step in plan if "s3" in step]
    assert searches, plan
    assert [step for step in searches if "spans_name" in step] == [], plan
