"""Choosing the store from the command line: --db on a command, drill's own --db, DRILL_DB;
a file or a postgresql:// URL; a bad or unreachable one is one line naming the setting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli import common
from cli.main import app
from doors import kit
from scoreboard.store import open_store
from tests.unit.fakestack import up
from tests.unit.test_cli import RUNNER, drill

UNREACHABLE = "postgresql://drill:hunter2@127.0.0.1:1/drill"


def finished_run(target: str | Path) -> None:
    store = open_store(target, create=True)
    store.begin_run("c0ffee", "traffic-tango", "drills/traffic-tango.yaml", "blue", ["ana"], "2026-Q4", 7, "lb.tango")
    store.append("c0ffee", "resolved", "ana", "resolved")
    store.end_run("c0ffee", "resolved", {"points": 80.0, "mttr_s": 42.0})


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (("runs", "--db", UNREACHABLE), {}),
        (("--db", UNREACHABLE, "scores"), {}),
        (("ack",), {"DRILL_DB": UNREACHABLE}),
        (("timeline",), {"DRILL_DB": UNREACHABLE.replace("postgresql", "postgres")}),
    ],
)
def test_an_unreachable_server_is_one_line_naming_the_setting(
    tmp_path: Path, args: tuple[str, ...], env: dict[str, str]
) -> None:
    done = drill(*args, env=env, home=tmp_path)
    assert done.returncode == 2, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot connect to the drill database" in lines[0] and "--db / DRILL_DB" in lines[0]
    assert "hunter2" not in done.stderr and "Traceback" not in done.stderr


def test_drills_own_db_option_reaches_every_command(tmp_path: Path) -> None:
    db = tmp_path / "elsewhere.db"
    finished_run(db)
    listed = drill("--db", str(db), "runs", "--json", home=tmp_path)
    assert listed.returncode == 0 and '"c0ffee"' in listed.stdout, listed
    assert drill("runs", home=tmp_path).returncode == 2  # the default database does not exist


def test_a_url_of_another_kind_is_refused(tmp_path: Path) -> None:
    done = drill("runs", "--db", "mysql://root@db/drill", home=tmp_path)
    assert done.returncode == 2 and "not a database drill knows (--db / DRILL_DB)" in done.stderr


@pytest.mark.postgres
def test_scores_and_runs_read_a_postgresql_scoreboard(tmp_path: Path, postgres_url: str) -> None:
    finished_run(postgres_url)
    listed = drill("--db", postgres_url, "runs", "--json", home=tmp_path)
    assert listed.returncode == 0 and json.loads(listed.stdout)[0]["run_id"] == "c0ffee", listed
    board = drill("scores", "--json", env={"DRILL_DB": postgres_url}, home=tmp_path)
    assert board.returncode == 0, board
    assert [(r["team"], r["best_points"], r["best_run"]) for r in json.loads(board.stdout)] == [
        ("blue", 80.0, "c0ffee")
    ]
    assert not (tmp_path / "drill.db").exists(), "a URL must not fall back to the home's SQLite file"


def test_status_and_down_still_act_on_the_stack_when_the_shared_scoreboard_is_out_of_reach(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = up(tmp_path, monkeypatch)
    monkeypatch.setattr(kit, "real", lambda: fake.doors)
    common.doors.cache_clear()
    env = {"DRILL_HOME": str(tmp_path), "DRILL_DB": UNREACHABLE}
    seen = RUNNER.invoke(app, ["status"], env=env)
    assert seen.exit_code == 0 and fake.run_id in seen.stdout and "the scoreboard is not" in seen.stderr, seen
    done = RUNNER.invoke(app, ["down", fake.run_id], env=env)
    common.doors.cache_clear()
    assert done.exit_code == 0, done.stderr
    assert "cannot connect to the drill database" in done.stderr and "the scoreboard is not" in done.stderr
    assert f"run {fake.run_id} down" in done.stdout and fake.runtime.containers() == []
    assert "hunter2" not in done.stderr
