"""Whole drills on a real single-node swarm (`--runtime swarm`): an autopilot drill and a
two-team game day resolve, and `drill down` after a SIGKILLed controller leaves nothing, whatever
runtime `drill down` was given."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import yaml

from doors.runtime import LABEL_RUN
from doors.swarm import SwarmEngine
from tests.integration.conftest import drill_cli
from tests.integration.test_drill import fast_drill, open_store, taken_down_on_failure, wait_event
from tests.integration.test_swarm import assert_gone


def swarm_cli(*args: str, runtime: str | None = "swarm", timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """`drill [--runtime swarm] ARGS`, stopped by SIGTERM past the timeout (conftest.drill_cli), and
    without a DRILL_RUNTIME that an in-process CLI test may have left in this process's environment."""
    env = {k: v for k, v in os.environ.items() if k != "DRILL_RUNTIME"}
    pre = ["--runtime", runtime] if runtime else []
    return drill_cli(*pre, *args, timeout=timeout, env=env)


def test_an_autopilot_drill_resolves_on_swarm(swarm: SwarmEngine, tmp_path: Path) -> None:
    drill = fast_drill(tmp_path, [{"fault": "lb.drained"}])
    db = str(tmp_path / "d.db")
    done = swarm_cli("run", str(drill), "--autopilot", "--json", "--quiet", "--seed", "1", "--db", db)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["outcome"] == "resolved" and result["fault"].startswith("lb.drained")
    assert {e["event"] for e in result["timeline"]} >= {"alert_fired", "diagnosed", "mitigated", "resolved"}
    assert_gone(swarm, result["run_id"])


def test_sigkill_mid_run_then_drill_down_on_any_runtime_leaves_nothing(swarm: SwarmEngine, tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    drill = fast_drill(tmp_path, [{"fault": "lb.weights-skew"}], time_limit_s=300, window=(0, 1))
    argv = [sys.executable, "-m", "cli.main", "--runtime", "swarm", "run", str(drill), "--db", str(db), "--seed", "3"]
    controller = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    with taken_down_on_failure(controller, db):
        store = open_store(db)
        run_id = wait_event(store, "fault_injected", controller=controller)
        controller.send_signal(signal.SIGKILL)
        controller.wait(timeout=10)
    assert swarm.client.services.list(filters={"label": [f"{LABEL_RUN}={run_id}"]}), "the stack should still be up"
    done = swarm_cli("down", run_id, "--db", str(db), runtime=None)  # the default runtime tears a swarm stack down
    assert done.returncode == 0, done.stderr
    assert f"reverted lb.weights-skew on run {run_id}" in done.stdout
    assert store.run(run_id).outcome == "aborted"
    assert_gone(swarm, run_id)


def test_a_two_team_game_day_resolves_on_swarm(swarm: SwarmEngine, tmp_path: Path) -> None:
    drill = fast_drill(tmp_path, [{"fault": "lb.weights-skew"}], time_limit_s=120, window=(2, 4))
    doc = yaml.safe_load(drill.read_text())
    doc["stack"]["replicas"], doc["traffic"]["rps"], doc["traffic"]["users"] = 2, 30, 12  # two stacks, light load
    drill.write_text(yaml.safe_dump(doc))
    teams = ["--team", "red", "--team", "blue", "--autopilot", "red", "--autopilot", "blue"]
    done = swarm_cli("gameday", "run", str(drill), *teams, "--json", "--db", str(tmp_path / "g.db"), timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert sorted((t["team"], t["outcome"]) for t in result["teams"]) == [("blue", "resolved"), ("red", "resolved")]
    for team in result["teams"]:
        assert_gone(swarm, team["run_id"])
