"""After real runs: the leaderboard, the postmortem and the HTML report (in a real browser).

The two runs write to PostgreSQL (a throwaway cluster: tests/pgcluster.py), two controllers at
once into one shared scoreboard, so whole drills and every reading command are proven on the
second backend; SQLite, the default, carries every other drill in the suite."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scoreboard.postmortem import timeline_events
from scoreboard.store import open_store
from scoreboard.timeline import line
from tests.integration.conftest import drill_cli
from tests.integration.test_drill import fast_drill
from tests.pgcluster import Cluster

pytestmark = pytest.mark.postgres

ARTIFACTS = Path(os.environ.get("DRILL_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))


def browser() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("DRILL_REQUIRE_DOCKER") == "1":
            pytest.fail("no chromium: `make browser` installs it (make test does)")
        pytest.skip("no chromium")
    return found


@pytest.fixture(scope="module")
def two_teams(
    engine: object, postgres: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, dict[str, str]]:
    """Two runs at once into one PostgreSQL database: "swift" on autopilot, "idle" doing nothing."""
    tmp = tmp_path_factory.mktemp("scoreboard")
    db = postgres.new_database()
    common = ["--json", "--quiet", "--gameday", "2026-Q4", "--db", db]
    swift = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cli.main",
            "run",
            str(fast_drill(tmp, [{"fault": "lb.weights-skew"}])),
            "--team",
            "swift",
            "--autopilot",
            *common,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    idle = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cli.main",
            "run",
            str(fast_drill(tmp, [{"fault": "lb.drained"}], time_limit_s=10)),
            "--team",
            "idle",
            *common,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    results = {}
    for team, proc in (("swift", swift), ("idle", idle)):
        out, err = proc.communicate(timeout=300)
        assert out, err[-2000:]
        results[team] = json.loads(out)["run_id"]
    return db, results


def test_leaderboard_orders_two_teams(two_teams: tuple[str, dict[str, str]]) -> None:
    db, runs = two_teams
    done = drill_cli("scores", "--json", "--gameday", "2026-Q4", "--db", db)
    assert done.returncode == 0, done.stderr
    board = json.loads(done.stdout)
    assert [row["team"] for row in board] == ["swift", "idle"]
    assert board[0]["best_run"] == runs["swift"] and board[0]["resolved"] == 1 and board[1]["resolved"] == 0
    assert board[0]["best_points"] > board[1]["best_points"]
    trend = json.loads(drill_cli("scores", "--trend", "--team", "swift", "--json", "--db", db).stdout)
    assert trend[0]["gameday"] == "2026-Q4" and trend[0]["tt_resolve_s"] > 0
    listed = drill_cli("runs", "--db", db).stdout
    assert runs["swift"] in listed and runs["idle"] in listed


def test_postmortem_timeline_matches_the_stored_events(two_teams: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    db, runs = two_teams
    out = tmp_path / "postmortem.md"
    done = drill_cli("postmortem", runs["swift"], "-o", str(out), "--db", db)
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    timeline = text.split("## Timeline:")[1].split("## Root Cause")[0]
    listed = [entry for entry in timeline.splitlines() if entry.startswith("- **")]
    assert listed == [line(e) for e in timeline_events(open_store(db).events(runs["swift"]))]
    assert "lb.weights-skew" in text and "[weights-skew]" in text and "reloaded gracefully" in text
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(out, ARTIFACTS / "postmortem.md")


def test_report_renders_in_a_real_browser(two_teams: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    chromium = browser()
    db, runs = two_teams
    page = tmp_path / "report.html"
    assert drill_cli("report", runs["swift"], "-o", str(page), "--db", db).returncode == 0
    flags = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--enable-logging=stderr"]
    dom = subprocess.run([*flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    charts = re.findall(r'<svg class="chart" data-chart="(\w+)"', dom.stdout)
    assert charts == ["latency", "errors", "audience", "shares"]
    series = re.findall(r'<polyline data-series="([^"]+)" points="([^"]*)"', dom.stdout)
    assert {"p95 ms", "error rate %", "viewers affected %", "rebuffering %", "app1", "app2", "app3"} <= {
        name for name, _ in series
    }
    assert "alert fired: " in dom.stdout and ">UTC</text>" in dom.stdout and "data-threshold=" in dom.stdout
    assert all(len(points.split()) >= 10 for _, points in series), "every series needs data points"
    assert "fault injected" in dom.stdout and "resolved" in dom.stdout
    assert not re.search(r"Failed to load|net::ERR_", dom.stderr), dom.stderr[-2000:]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "report.png"
    subprocess.run(
        [*flags, "--window-size=1000,1900", f"--screenshot={shot}", page.as_uri()],
        capture_output=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert shot.is_file() and shot.stat().st_size > 20_000
    shutil.copy(page, ARTIFACTS / "report.html")
