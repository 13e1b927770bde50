"""Difficulty levels: what `level:` changes in a drill, and what list and show say about it."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from drills import levels, loader
from drills.definition import Drill
from drills.errors import UsageError
from drills.loader import DrillFileError
from facilitator.app import team_payload as build_team_payload
from orchestration import controller, gameday, session
from orchestration.bus import Beat
from orchestration.subscribers import live_line
from playbooks import grading
from playbooks.checks import CHECKS
from scoreboard import store_sqlite
from scoreboard.store import open_store
from telemetry.windows import Slis
from tests.unit.fakestack import up
from tests.unit.test_session_fake import modelled_world

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


def test_a_level_given_at_load_overrides_the_files_own(tmp_path: Path) -> None:
    path = tmp_path / "lv.yaml"
    path.write_text(BASE + "level: veteran\n")
    as_written, easy = loader.load_file(path, CHECKS), loader.load_file(path, CHECKS, "onboarding")
    assert (as_written.level, easy.level) == ("veteran", "onboarding")
    assert easy.hints[0].cost == 20 and easy.time_limit_s == 1200 and len(easy.variants) == 1
    assert loader.load_file(path, CHECKS, "standard").hints[0].cost == 40  # not x2 then x1: from the file


def test_run_level_must_be_a_level_one_line_and_nothing_written(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    result = CliRunner().invoke(app, ["run", "traffic-tango", "--level", "expert", "--db", str(db)])
    assert result.exit_code == 2 and not db.exists()
    assert result.output.strip().splitlines() == [
        "drill: error: --level must be one of onboarding, standard, veteran, got 'expert'"
    ]
    gameday = CliRunner().invoke(app, ["gameday", "run", "traffic-tango", "--team", "a", "--level", "x"])
    assert gameday.exit_code == 2 and "--level must be one of onboarding, standard, veteran" in gameday.output


def test_a_runs_level_is_stored_and_hints_cost_what_it_says(tmp_path: Path) -> None:
    path = tmp_path / "lv.yaml"
    path.write_text(BASE)  # standard as written: the hint costs 40
    store = open_store(tmp_path / "d.db", create=True)
    for run_id, level in (("aaaaaa", "veteran"), ("bbbbbb", "")):
        store.begin_run(run_id, "lv", str(path), "t", [], "q", 1, "lb.drained", level=level)
    assert store.run("aaaaaa").level == "veteran" and store.run("bbbbbb").level == ""
    veteran, _ = grading.hint(store, "aaaaaa", "ana")
    plain, _ = grading.hint(store, "bbbbbb", "ana")
    assert (veteran.data["cost"], plain.data["cost"]) == (80, 40)


def test_a_database_from_before_levels_is_upgraded_by_a_run_only(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    with closing(sqlite3.connect(db)) as conn:
        conn.executescript(store_sqlite.MIGRATIONS[0])
        conn.execute("INSERT INTO runs VALUES ('cccccc','lv','f','t','[]','q',1,'x','2026-01-01',NULL,NULL,NULL)")
        conn.execute("PRAGMA user_version = 1")
        conn.commit()
    with pytest.raises(UsageError, match="written by an older drill"):
        open_store(db)
    assert open_store(db, create=True).run("cccccc").level == ""


def test_veteran_game_day_shows_teams_and_projector_the_clock_only(tmp_path: Path) -> None:
    drill = drill_at(tmp_path, "veteran")
    room = gameday.Room(drill, "q", open_store(tmp_path / "d.db", create=True), [])
    team = gameday.Team("red", "tok", "aaaaaa", 1, controller.draw(drill, 1), False)
    room.teams = {"red": team}
    slis = Slis(0.0, 5.0, 750, 150.0, 0.0, 0, 20.0, 30.0, 30.0, 30.0, {"app1": 1.0}, {}, 0.0, 1.0, 40, 0)
    gameday.Live(room, team)(Beat("respond", 12.0, slis))
    assert team.history  # kept: the facilitator and the report see it
    for view in (room.team_view("red"), room.room()["teams"][0]):
        assert view.get("history", []) == [] and view["sparkline"] == [] and view["level"] == "veteran"
    assert room.team_view("red", truth=True)["history"] and room.room(truth=True)["teams"][0]["sparkline"]
    assert build_team_payload(room, "red", False)["charts"] == []
    assert build_team_payload(room, "red", True)["charts"]
    standard = gameday.Room(drill_at(tmp_path, None), "q", room.store, [])
    standard.teams = {"red": team}
    assert standard.team_view("red")["history"]


def test_show_says_how_to_pick_a_level() -> None:
    shown = CliRunner().invoke(app, ["show", "traffic-tango"])
    assert "`drill run --level`" in shown.stdout and "veteran: every fault variant; hints cost x2" in shown.stdout


@pytest.mark.parametrize(("level", "limit_s"), [("onboarding", 1800.0), ("veteran", 450.0)])
def test_drill_run_at_a_level_plays_it_in_fake_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, level: str, limit_s: float
) -> None:
    fake = up(tmp_path / "warmup", monkeypatch)
    monkeypatch.setenv("DRILL_HOME", str(tmp_path))
    written: list[str] = []
    options = session.Options("traffic-tango", team="blue", seed=5, level=level)  # nobody responds: a timeout
    finished = session.run_drill(options, fake.doors, tmp_path / "d.db", written.append, lambda: True, modelled_world)
    assert finished.outcome == "timeout" and finished.row.level == level and finished.drill.level == level
    events = {e.event: e.offset_s for e in finished.events}
    assert events["timeout"] - events["fault_injected"] == pytest.approx(limit_s, abs=5)
    coached = [line for line in written if levels.COACHING["stack_ready"] in line]
    assert bool(coached) == (level == "onboarding")
    assert not any("The dance floor is set" in line for line in written)  # coaching instead, or silence
