"""Every built-in drill resolved on autopilot on a real stack (a shortened copy: short phases,
its first variant)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from doors.engine import DockerEngine
from drills.loader import builtin_files
from tests.integration.conftest import drill_cli
from tests.integration.test_drill import assert_gone

OUTAGE_DRILLS = ("heavy-health-check", "flapping-checks", "missing-slots", "partial-push")
EVERY_DRILL = tuple(builtin_files())
# traffic-tango's first variant, shortened the same way, runs on autopilot with the same seed in
# test_drill.py (every variant, with more asserted): a copy here would be a whole drill for nothing.
COVERED_ELSEWHERE = ("traffic-tango",)
LATER_VARIANTS = [
    (name, i)
    for name in OUTAGE_DRILLS
    for i in range(1, len(yaml.safe_load(builtin_files()[name].read_text())["faults"]))
    if yaml.safe_load(builtin_files()[name].read_text()).get("level") != "onboarding"  # draws the first only
]


def shortened(tmp_path: Path, name: str, variant: int = 0) -> tuple[Path, dict[str, Any]]:
    doc = yaml.safe_load(builtin_files()[name].read_text())
    doc["faults"] = [doc["faults"][variant]]
    doc["phases"] = {"baseline_s": 6, "inject_window_s": [1, 2], "time_limit_s": 180}  # veteran: x0.5
    doc["recovery"]["sustain_s"] = 5
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path, doc


@pytest.mark.parametrize("name", [name for name in EVERY_DRILL if name not in COVERED_ELSEWHERE])
def test_autopilot_resolves_every_built_in_drill(engine: DockerEngine, tmp_path: Path, name: str) -> None:
    assert set(OUTAGE_DRILLS) < set(EVERY_DRILL) and set(COVERED_ELSEWHERE) < set(EVERY_DRILL)
    resolves(engine, tmp_path, name, 0)


@pytest.mark.parametrize(("name", "variant"), LATER_VARIANTS, ids=lambda x: str(x))
def test_autopilot_resolves_the_outage_drills_other_variants(
    engine: DockerEngine, tmp_path: Path, name: str, variant: int
) -> None:
    resolves(engine, tmp_path, name, variant)


def resolves(engine: DockerEngine, tmp_path: Path, name: str, variant: int) -> None:
    path, doc = shortened(tmp_path, name, variant)
    done = drill_cli(
        "run", str(path), "--autopilot", "--json", "--quiet", "--seed", "1", "--db", str(tmp_path / "d.db"), timeout=240
    )
    assert done.returncode == 0, done.stderr[-2000:] + done.stdout[-2000:]
    result = json.loads(done.stdout)
    assert result["outcome"] == "resolved" and result["fault"].startswith(doc["faults"][0]["fault"])
    order = ["fault_injected", "alert_fired", "acknowledged", "diagnosed", "mitigated", "resolved"]
    seen = [e["event"] for e in result["timeline"] if e["event"] in order]
    assert [seen.index(event) for event in order] == sorted(seen.index(event) for event in order), seen
    scores = result["scores"]
    assert scores["tt_mitigate_s"] < scores["tt_resolve_s"] < 90 and scores["red_herrings"] == 0
    first_alert = next(e for e in result["timeline"] if e["event"] == "alert_fired")
    print(f"{name}[{variant}]: first alert {first_alert['detail']!r}; resolved after {scores['tt_resolve_s']:.0f} s")
    assert_gone(engine, result["run_id"])
