"""Difficulty levels: what `level:` changes in a drill, and what list and show say about it."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from drills import levels, loader
from drills.definition import Drill
from drills.loader import DrillFileError
from orchestration.subscribers import live_line
from playbooks.checks import CHECKS

BASE = (
    "name: lv\nfaults:\n  - fault: lb.drained\n  - fault: lb.weights-skew\n"
    "root_cause: {category: balancer}\nphases: {time_limit_s: 600}\n"
    "hints: [{cost: 40, text: look}]\nnarration: {alert_fired: boo}\n"
)


def drill_at(tmp_path: Path, level: str | None) -> Drill:
    path = tmp_path / "lv.yaml"
    path.write_text(BASE + (f"level: {level}\n" if level else ""))
    return loader.load_file(path, CHECKS)


def test_standard_is_the_drill_as_written(tmp_path: Path) -> None:
    plain, standard = drill_at(tmp_path, None), drill_at(tmp_path, "standard")
    assert plain == standard and plain.level == "standard" and plain.live == "full"
    assert len(plain.variants) == 2 and plain.hints[0].cost == 40 and plain.time_limit_s == 600


def test_onboarding_and_veteran_change_pool_hints_narration_time_and_live_view(tmp_path: Path) -> None:
    easy, hard = drill_at(tmp_path, "onboarding"), drill_at(tmp_path, "veteran")
    assert [v.fault for v in easy.variants] == ["lb.drained"] and len(hard.variants) == 2
    assert (easy.hints[0].cost, hard.hints[0].cost) == (20, 80)
    assert (easy.time_limit_s, hard.time_limit_s) == (1200, 300)
    assert easy.narration["alert_fired"] == levels.COACHING["alert_fired"] and not hard.narration
    assert (easy.live, hard.live) == ("full", "clock")


def test_a_wrong_level_is_an_error_at_its_line(tmp_path: Path) -> None:
    with pytest.raises(DrillFileError, match=r"lv.yaml:9: level: expected one of onboarding, standard, veteran"):
        drill_at(tmp_path, "expert")


def test_list_and_show_say_the_level(tmp_path: Path) -> None:
    runner = CliRunner()
    listed = runner.invoke(app, ["list"])
    assert listed.exit_code == 0 and "onboarding, haproxy: Every request fails at once" in listed.stdout
    shown = runner.invoke(app, ["show", "flapping-checks"])
    assert shown.exit_code == 0 and "level      veteran: every fault variant; hints cost x2" in shown.stdout
    assert "onboarding: the first fault variant only" in shown.stdout


def test_the_veteran_live_line_shows_the_clock_only() -> None:
    class Beat:
        phase, elapsed, slis = "respond", 75.0, None

    assert live_line(Beat(), reveal=False, show_slis=False) == "[running   01:15]"  # type: ignore[arg-type]
