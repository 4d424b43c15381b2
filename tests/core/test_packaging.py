"""Every distribution builds a wheel that installs on its own into a fresh virtualenv."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[2]


def _workspace() -> list[dict[str, Any]]:
    """Every distribution in the workspace: a new package is tested without an edit here."""
    return [
        tomllib.loads(path.read_text())["project"]
        for path in sorted(ROOT.glob("packages/*/pyproject.toml"))
    ]


PROJECTS = _workspace()
DISTRIBUTIONS = [str(project["name"]) for project in PROJECTS]
#: The integrations the distributions declare (entry-point group ``obs.integrations``).
INTEGRATIONS = sorted(
    name
    for project in PROJECTS
    for name in project.get("entry-points", {}).get("obs.integrations", {})
)

CHECK = """
import json, obs
print(json.dumps({i.name: i.status for i in obs.integrations()}))
"""


@pytest.mark.skipif(shutil.which("uv") is None, reason="uv is not installed")
def test_wheels_build_and_install_into_a_fresh_venv(tmp_path):
    dist = tmp_path / "dist"
    for name in DISTRIBUTIONS:
        subprocess.run(
            ["uv", "build", "--package", name, "--wheel", "-o", str(dist), "-q"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
    wheels = sorted(p.name for p in dist.glob("*.whl"))
    assert len(wheels) == len(DISTRIBUTIONS), wheels
    venv = tmp_path / "venv"
    subprocess.run(["uv", "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        ["uv", "pip", "install", "-q", "--python", str(python), *map(str, dist.glob("*.whl"))],
        check=True,
        capture_output=True,
    )
    out = subprocess.run([str(python), "-c", CHECK], check=True, capture_output=True, text=True)
    statuses = json.loads(out.stdout)
    # every integration registers; their hosts are not installed in this venv
    assert statuses == dict.fromkeys(INTEGRATIONS, "missing")
    cli = subprocess.run(
        [str(venv / "bin" / "obs"), "integrations"], capture_output=True, text=True
    )
    assert cli.returncode == 0
    assert "fastapi" in cli.stdout
    assert "not installed" in cli.stdout
