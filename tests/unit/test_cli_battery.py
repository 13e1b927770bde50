"""Bad arguments, as a new user types them: each is one line on stderr naming the argument and
what would be right, a non-zero exit, no traceback, and nothing started or written.

In process (typer's CliRunner) over the fake doors, so a command that would reach Docker finds
the fake runtime instead (and a Docker attempt would show as a started container)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import common
from cli.main import app
from doors import kit
from doors.fakes import fake_doors
from scoreboard.store import open_store

RUNNER = CliRunner()

CASES: list[tuple[list[str], str]] = [
    (["up", "--replicas", "0"], "--replicas must be between 1 and 12"),
    (["up", "--replicas", "13"], "--replicas must be between 1 and 12"),
    (["up", "--replicas", "abc"], "Invalid value for '--replicas'"),
    (["up", "--port", "70000"], "--port must be a TCP port between 1 and 65535"),
    (["down"], "give a RUN_ID or --all"),
    (["down", "nothex"], "RUN_ID 'nothex' is not a run id"),
    (["down", "ffffff"], "run ffffff: no such run on this machine"),
    (["down", "abcdef", "--all"], "give a RUN_ID or --all"),
    (["down", "abcdef", "--machine-wide"], "--machine-wide goes with --all"),
    (["status", "xyz"], "RUN_ID 'xyz' is not a run id"),
    (["images", "build", "--base", "fast"], "--base must be one of auto, official, local"),
    (["load"], "give --url URL or --run RUN_ID"),
    (["load", "--url", "http://127.0.0.1:9", "--run", "abcdef"], "give --url URL or --run RUN_ID"),
    (["load", "--url", "ftp://127.0.0.1/"], "ftp://127.0.0.1/"),
    (["load", "--url", "http://127.0.0.1:9/", "--rps", "0"], "--rps must be between 1 and"),
    (["load", "--url", "http://127.0.0.1:9/", "--duration", "0"], "--duration must be between 1 and"),
    (["load", "--url", "http://127.0.0.1:9/", "--users", "0"], "--users must be at least 1"),
    (["load", "--url", "http://127.0.0.1:9/", "--model", "bursty"], "--model must be one of"),
    (["load", "--url", "http://127.0.0.1:9/", "--path", "health"], "--path must start with '/'"),
    (["load", "--url", "http://127.0.0.1:9/", "--processes", "many"], "--processes must be a whole number from 1"),
    (
        ["load", "--url", "http://127.0.0.1:9/", "--processes", "3", "--users", "2"],
        "--processes must be between 1 and 2",
    ),
    (["load", "--run", "nothex"], "RUN_ID 'nothex' is not a run id"),
    (["load", "--run", "abcdef"], "--run abcdef: no such run is up on this machine"),
    (["chaos", "inject", "lb.cha-cha", "--run", "abcdef"], "FAULT 'lb.cha-cha' is not a fault"),
    (["chaos", "plan", "lb.tango", "--run", "nope"], "RUN_ID 'nope' is not a run id"),
    (["chaos", "inject", "lb.tango", "--run", "abcdef", "-p", "period"], "--param 'period': expected key=value"),
    (["chaos", "inject", "lb.tango", "--run", "abcdef"], "--run abcdef: no such run is up on this machine"),
    (["chaos", "revert"], "Missing option '--run'"),
    (["chaos", "check", "--run", "xyz"], "RUN_ID 'xyz' is not a run id"),
    (["audit", "/nonexistent/haproxy.cfg"], "/nonexistent/haproxy.cfg: cannot read it"),
    (["audit", "--fail-on", "fatal", "x.cfg"], "--fail-on must be one of info, warning, error"),
    (["audit", "--format", "xml", "x.cfg"], "--format must be one of text, json, sarif"),
    (["audit", "--explain", "nope"], "--explain 'nope': not a rule"),
    (["run", "salsa"], "DRILL 'salsa' is not a drill file or a known drill"),
    (["run"], "Missing argument 'DRILL'"),
    (["run", "traffic-tango", "--seed", "x"], "Invalid value for '--seed'"),
    (["validate", "/nonexistent.yaml"], "/nonexistent.yaml: cannot read it"),
    (["show", "salsa"], "DRILL 'salsa' is not a drill file or a known drill"),
    (["note", "   "], "TEXT is empty"),
    (["diagnose", " "], "CATEGORY is empty"),
    (["hint", "--run", "abcdef"], "run abcdef: no drill run with that id"),
    (["resolve", "--run", "zzz"], "RUN_ID 'zzz' is not a run id"),
    (["timeline", "--run", "nothex"], "RUN_ID 'nothex' is not a run id"),
    (["scores", "--trend"], "--trend needs --team TEAM"),
    (["scores", "--json", "--csv"], "--json and --csv: choose one output format"),
    (["show-run", "nothex"], "RUN_ID 'nothex' is not a run id"),
    (["show-run", "abc123"], "run abc123 is still running"),
    (["postmortem", "abcdef"], "run abcdef: no drill run with that id"),
    (["report", "abc123", "-o", "/nonexistent/dir/report.html"], "run abc123 is still running"),
    (["runs", "--db", "/nonexistent/typo/drill.db"], "no drill database there"),
    (["--bogus"], "No such option '--bogus'"),
    (["frobnicate"], "No such command 'frobnicate'"),
]


def files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.mark.parametrize(("args", "needle"), CASES, ids=[" ".join(a) or "(none)" for a, _ in CASES])
def test_a_bad_argument_is_one_line_exit_2_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], needle: str
) -> None:
    doors, runtime = fake_doors()
    monkeypatch.setattr(kit, "real", lambda: doors)
    common.doors.cache_clear()
    db = tmp_path / "drill.db"
    open_store(db, create=True).begin_run(
        "abc123", "traffic-tango", "drills/traffic-tango.yaml", "blue", [], "2026-Q4", 7, "lb.weights-skew"
    )
    before = files_under(tmp_path)
    env = {"DRILL_HOME": str(tmp_path / "home"), "DRILL_DB": str(db), "DOCKER_HOST": "unix:///nonexistent.sock"}
    result = RUNNER.invoke(app, args, env=env)
    common.doors.cache_clear()
    assert result.exit_code == 2, (result.exit_code, result.stderr, result.stdout)
    assert needle in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert files_under(tmp_path) - {"drill.db-wal", "drill.db-shm"} == before - {"drill.db-wal", "drill.db-shm"}
    assert runtime.actions == [], "nothing was started"
    assert not Path("/nonexistent").exists()


def test_the_battery_is_at_least_forty_cases() -> None:
    assert len(CASES) >= 40


def test_a_server_that_is_not_a_url_is_one_line(tmp_path: Path) -> None:
    common.doors.cache_clear()
    result = RUNNER.invoke(app, ["--server", "localhost", "--token", "t", "ack"], env={"DRILL_HOME": str(tmp_path)})
    assert result.exit_code == 2 and "--server 'localhost': expected http://HOST:PORT" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
