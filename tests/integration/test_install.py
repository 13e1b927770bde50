"""`pip install .` into a fresh virtualenv, used from outside the repository."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from doors.engine import DockerEngine
from tests.integration.conftest import served_by

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Installed:
    """drill installed from the repository into its own venv, run from a directory outside it."""

    bin: Path
    workdir: Path

    def run(self, program: str, *argv: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        return subprocess.run(
            [str(self.bin / program), *argv], cwd=self.workdir, env=env, capture_output=True, text=True, timeout=300
        )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("install")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    install = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", str(REPO)], capture_output=True, text=True, timeout=600
    )
    assert install.returncode == 0, install.stderr[-2000:]
    workdir = root / "elsewhere"
    workdir.mkdir()
    return Installed(venv / "bin", workdir)


def test_installed_drill_brings_a_stack_up_and_down_from_anywhere(engine: DockerEngine, installed: Installed) -> None:
    where = installed.run("python", "-c", "import stack.resources as r; print(r.compose_file())")
    assert "site-packages" in where.stdout and Path(where.stdout.strip()).is_file(), where

    up = installed.run("drill", "up", "--replicas", "2", "--json")
    assert up.returncode == 0, up.stderr
    summary = json.loads(up.stdout)
    try:
        assert set(summary) >= {"run_id", "url", "stats_url"}
        assert set(served_by(summary["url"], 10)) == {"app1", "app2"}
    finally:
        down = installed.run("drill", "down", summary["run_id"])
    assert down.returncode == 0, down.stderr
    assert engine.leftovers(summary["run_id"]) == []


def test_installed_drill_runs_a_whole_drill_from_anywhere(
    engine: DockerEngine, installed: Installed, tmp_path: Path
) -> None:
    """Built-in drills and playbooks ship in the wheel: show, validate and an autopilot run."""
    from tests.integration.test_drill import fast_drill

    shown = installed.run("drill", "show", "traffic-tango")
    assert shown.returncode == 0 and "site-packages" in shown.stdout, shown.stderr
    own = fast_drill(tmp_path, [{"fault": "lb.tango"}])
    assert installed.run("drill", "validate", str(own)).returncode == 0
    done = installed.run("drill", "run", str(own), "--autopilot", "--json", "--quiet", "--db", str(tmp_path / "d.db"))
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["outcome"] == "resolved"
    assert engine.leftovers(result["run_id"]) == []
