"""The CLI's error contract: one line, non-zero, no traceback.

In process, through typer's CliRunner (the error mapping lives in the command group, so it
is the same code path as the console script); a handful of tests start the real console
script to prove the entry point itself.
"""

import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import common
from cli.main import app

RUNNER = CliRunner()


@dataclass(frozen=True)
class Done:
    returncode: int
    stdout: str
    stderr: str


def drill(*args: str, env: dict[str, str] | None = None, home: Path) -> Done:
    common.doors.cache_clear()  # each invocation builds its doors afresh, as a new process would
    result = RUNNER.invoke(app, list(args), env={"DRILL_HOME": str(home), **(env or {})})
    return Done(result.exit_code, result.stdout, result.stderr)


def console_script(*args: str, env: dict[str, str] | None = None, home: Path) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "DRILL_HOME": str(home), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args], capture_output=True, text=True, env=full_env, timeout=60
    )


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["down", "nothex"], 2, "RUN_ID 'nothex' is not a run id"),
        (["up", "--replicas", "0"], 2, "--replicas must be between 1 and"),
        (["images", "build", "--base", "fast"], 2, "--base must be one of"),
        (["chaos", "inject", "lb.cha-cha", "--run", "abcdef"], 2, "FAULT 'lb.cha-cha' is not a fault"),
        (["chaos", "plan", "lb.tango", "--run", "nope"], 2, "RUN_ID 'nope' is not a run id"),
        (["chaos", "inject", "lb.tango", "--run", "abcdef", "-p", "period"], 2, "--param 'period': expected key=value"),
        (["audit", "/nonexistent/haproxy.cfg"], 2, "/nonexistent/haproxy.cfg: cannot read it"),
        (["run", "salsa"], 2, "DRILL 'salsa' is not a drill file or a known drill"),
        (["ack"], 2, "no drill database there, so no drill has run with it"),
        (["scores", "--trend"], 2, "--trend needs --team TEAM"),
        (["postmortem", "abcdef"], 2, "no drill database there"),
        (["postmortem", "nothex"], 2, "RUN_ID 'nothex' is not a run id"),
    ],
)
def test_bad_arguments_get_one_line_and_exit_2(tmp_path: Path, args: list[str], code: int, needle: str) -> None:
    done = drill(*args, home=tmp_path, env={"DOCKER_HOST": "unix:///nonexistent.sock"})
    assert done.returncode == code, done.stderr
    assert needle in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_missing_engine_is_one_line_saying_how_to_get_one(tmp_path: Path) -> None:
    done = console_script("status", home=tmp_path, env={"DOCKER_HOST": "unix:///nonexistent.sock"})
    assert done.returncode == 3
    assert done.stderr.startswith("drill: error: no Docker engine answers at unix:///nonexistent.sock")
    assert "make setup" in done.stderr and "Traceback" not in done.stderr


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    done = console_script("--debug", "status", home=tmp_path, env={"DOCKER_HOST": "unix:///nonexistent.sock"})
    assert done.returncode == 3 and "Traceback" in done.stderr


def test_down_needs_a_run_or_all(tmp_path: Path) -> None:
    done = drill("down", home=tmp_path)
    assert done.returncode == 2 and "give a RUN_ID or --all" in done.stderr


@pytest.mark.parametrize(
    "command",
    [[], ["up"], ["down"], ["status"], ["load"], ["images", "build"], ["audit"]]
    + [["chaos", c] for c in ("list", "plan", "inject", "revert", "check")]
    + [[c] for c in ("run", "list", "show", "validate", "ack", "diagnose", "note", "hint", "resolve", "abort")]
    + [[c] for c in ("timeline", "scores", "runs", "show-run", "postmortem", "report")],
)
def test_every_command_has_a_purpose_and_an_example(tmp_path: Path, command: list[str]) -> None:
    done = drill(*command, "--help", home=tmp_path)
    assert done.returncode == 0
    assert "Example: drill" in done.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["load", "--url", "http://drill-target.invalid/"], "--url http://drill-target.invalid: cannot resolve"),
        (["load", "--url", "ftp://127.0.0.1/"], "expected http(s)://HOST[:PORT][/path]"),
        (["load", "--url", "http:///health"], "no host; expected http(s)://HOST"),
        (["load", "--url", "https://127.0.0.1:99999/"], "the port is not a number between 1 and 65535"),
        (
            ["load", "--url", "https://127.0.0.1:9/", "--ca-file", "/nonexistent/ca.pem"],
            "--ca-file /nonexistent/ca.pem",
        ),
        (["load", "--url", "http://127.0.0.1:9/", "--webhook", "hooks.slack.com/services/T0/B0/x"], "--webhook"),
        (["load", "--url", "http://127.0.0.1:9/", "--rps", "0"], "--rps must be between 1 and"),
        (["load"], "give --url URL or --run RUN_ID"),
        (["load", "--run", "abcdef"], "--run abcdef: no such run is up"),
    ],
)
def test_bad_load_arguments_are_one_line(tmp_path: Path, args: list[str], needle: str) -> None:
    done = drill(*args, home=tmp_path)
    assert done.returncode == 2, done.stderr
    assert needle in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_load_against_nothing_fails_fast_and_clearly(tmp_path: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    done = drill("load", "--url", f"http://127.0.0.1:{port}", "--duration", "5", home=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == f"drill: error: --url http://127.0.0.1:{port}: cannot connect (Connection refused)"


def test_a_running_drill_keeps_its_fault_from_the_records_commands(tmp_path: Path) -> None:
    from scoreboard.store import open_store

    db = tmp_path / "drill.db"
    open_store(db, create=True).begin_run(
        "c0ffee", "traffic-tango", "drills/traffic-tango.yaml", "blue", [], "2026-Q4", 7, "lb.weights-skew"
    )
    listed = drill("runs", "--db", str(db), home=tmp_path)
    assert listed.returncode == 0 and "c0ffee" in listed.stdout
    assert "weights-skew" not in listed.stdout and "(hidden until the end)" in listed.stdout
    for command in ("show-run", "postmortem", "report"):
        done = drill(command, "c0ffee", "--db", str(db), home=tmp_path)
        assert done.returncode == 2 and "run c0ffee is still running" in done.stderr, (command, done.stderr)
        assert "weights-skew" not in done.stdout + done.stderr
