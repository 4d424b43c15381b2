"""Every distribution builds a wheel that installs on its own into a fresh virtualenv."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DISTRIBUTIONS = ["obs-core", "obs-fastapi", "obs-faststream", "obs-openai", "obs-burr", "obs-httpx"]

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
    # the integrations register; their hosts are not installed in this venv
    assert statuses == {
        name: "missing" for name in ("burr", "fastapi", "faststream", "httpx", "openai")
    }
    cli = subprocess.run(
        [str(venv / "bin" / "obs"), "integrations"], capture_output=True, text=True
    )
    assert cli.returncode == 0
    assert "fastapi" in cli.stdout
    assert "not installed" in cli.stdout
