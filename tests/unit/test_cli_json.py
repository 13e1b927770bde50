"""Every `--json` output has the keys the README's table promises (docs checked by tests)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import common
from cli.main import app
from scoreboard.store import open_store

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
RUNNER = CliRunner()


def promised(command: str) -> set[str]:
    row = re.search(rf"^\| `{re.escape(command)}`[^|]*\| (.+) \|$", README, re.MULTILINE)
    assert row, f"README has no --json row for {command}"
    keys = row.group(1).split("(")[0].replace("a list of", "").replace("`", "")
    return {k.strip() for k in keys.split(",") if k.strip() and "..." not in k}


def run_json(args: list[str], db: Path) -> object:
    common.doors.cache_clear()
    result = RUNNER.invoke(app, [*args, "--json"], env={"DRILL_DB": str(db), "DOCKER_HOST": "unix:///none.sock"})
    assert result.exit_code in (0, 1), result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "drill.db"
    store = open_store(path, create=True)
    store.begin_run("abc123", "traffic-tango", "drills/traffic-tango.yaml", "blue", [], "2026-Q4", 7, "lb.drained")
    store.append("abc123", "fault_injected", "drill", "lb.drained: app2, app3 drained")
    store.append("abc123", "alert_fired", "monitor", "errors")
    store.append("abc123", "resolved", "drill", "held", {"error_share": 0.1, "audience_affected": 0.3})
    store.end_run("abc123", "resolved", {"points": 500.0})
    store.begin_run("def456", "traffic-tango", "drills/traffic-tango.yaml", "red", [], "2026-Q4", 8, "lb.tango")
    store.append("def456", "fault_injected", "drill", "lb.tango: the lead moves")
    store.append("def456", "acknowledged", "ana", "alert acknowledged")
    return path


@pytest.mark.parametrize(
    ("command", "args"),
    [
        ("list", ["list"]),
        ("show", ["show", "traffic-tango"]),
        ("validate", ["validate", "drills/traffic-tango.yaml"]),
        ("chaos list", ["chaos", "list"]),
        ("runs", ["runs"]),
        ("scores", ["scores"]),
        ("run`, `show-run", ["show-run", "abc123"]),
        ("timeline", ["timeline", "--run", "def456"]),
        ("postmortem", ["postmortem", "abc123"]),
    ],
)
def test_json_keys_are_the_documented_ones(db: Path, command: str, args: list[str]) -> None:
    data = run_json(args, db)
    rows = data if isinstance(data, list) else [data]
    assert rows, f"{command} printed an empty list"
    for row in rows:
        assert isinstance(row, dict) and promised(command) <= set(row), (command, sorted(row))


def test_a_running_drills_timeline_json_keeps_the_fault_hidden(db: Path) -> None:
    events = run_json(["timeline", "--run", "def456"], db)
    assert isinstance(events, list) and [e["event"] for e in events] == ["acknowledged"]
