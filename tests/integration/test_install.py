"""`pip install .` into a fresh virtualenv, used from outside the repository."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from chaos.engine import Engine
from drills.provision import served_by

REPO = Path(__file__).resolve().parents[2]


def test_installed_drill_brings_a_stack_up_and_down_from_anywhere(engine: Engine, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    install = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", str(REPO)], capture_output=True, text=True, timeout=600
    )
    assert install.returncode == 0, install.stderr[-2000:]
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(argv, cwd=workdir, env=env, capture_output=True, text=True, timeout=300)

    where = run(str(venv / "bin" / "python"), "-c", "import drills.resources as r; print(r.compose_file())")
    assert "site-packages" in where.stdout and Path(where.stdout.strip()).is_file(), where

    up = run(str(venv / "bin" / "drill"), "up", "--replicas", "2", "--json")
    assert up.returncode == 0, up.stderr
    summary = json.loads(up.stdout)
    try:
        assert set(summary) >= {"run_id", "url", "stats_url"}
        assert set(served_by(summary["url"], 10)) == {"app1", "app2"}
    finally:
        down = run(str(venv / "bin" / "drill"), "down", summary["run_id"])
    assert down.returncode == 0, down.stderr
    assert engine.leftovers(summary["run_id"]) == []


def test_installed_drill_runs_a_whole_drill_from_anywhere(engine: Engine, tmp_path: Path) -> None:
    """Built-in drills and playbooks ship in the wheel: show, validate and an autopilot run."""
    from tests.integration.test_drill import fast_drill

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    install = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", str(REPO)], capture_output=True, text=True, timeout=600
    )
    assert install.returncode == 0, install.stderr[-2000:]
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    drill = str(venv / "bin" / "drill")

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(argv, cwd=workdir, env=env, capture_output=True, text=True, timeout=300)

    shown = run(drill, "show", "traffic-tango")
    assert shown.returncode == 0 and "site-packages" in shown.stdout, shown.stderr
    own = fast_drill(workdir, [{"fault": "lb.tango"}])
    assert run(drill, "validate", str(own)).returncode == 0
    done = run(drill, "run", str(own), "--autopilot", "--json", "--quiet", "--db", str(tmp_path / "d.db"))
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["outcome"] == "resolved"
    assert engine.leftovers(result["run_id"]) == []
