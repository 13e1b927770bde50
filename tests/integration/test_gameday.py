"""A whole game day on real stacks, watched in a real browser (Debian's chromium through Selenium):
four teams on autopilot and one team driven by this test through its web console and its
responder shell. The room view shows every team changing, an acknowledge from the console is on
the room view within 2 s, the browser logs no errors, every team ends resolved and the
leaderboard is right. Screenshots of the room and the team view go to test-artifacts/."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from doors import kit
from doors.engine import DockerEngine
from drills.loader import builtin_files
from facilitator.serve import Serving
from orchestration import gameday

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
AUTOPILOTS = ("amber", "blue", "green", "indigo")
CONSOLE = "red"


def short_drill(tmp_path: Path) -> Path:
    """traffic-tango, shortened: baseline 10 s, inject window [5, 10], time limit 180 s, light load."""
    doc = yaml.safe_load(builtin_files()["traffic-tango"].read_text())
    doc["faults"] = [{"fault": "lb.weights-skew"}]
    doc["phases"] = {"baseline_s": 10, "inject_window_s": [5, 10], "time_limit_s": 180}
    doc["stack"]["replicas"] = 2
    doc["traffic"]["rps"] = 30
    doc["traffic"]["users"] = 12
    doc["recovery"]["sustain_s"] = 5
    doc["playbook"] = "traffic-tango.md"
    path = tmp_path / "gameday-short.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def artifacts() -> Path:
    where = Path(os.environ.get("DRILL_ARTIFACTS") or ROOT / "test-artifacts")
    where.mkdir(parents=True, exist_ok=True)
    return where


@pytest.fixture
def browsers() -> Iterator[Callable[[], Any]]:
    made: list[Any] = []

    def browser() -> Any:
        options = Options()
        options.binary_location = "/usr/bin/chromium"
        for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1100"):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        made.append(driver)
        return driver

    yield browser
    for driver in made:
        driver.quit()


def wait(what: str, probe: Callable[[], bool], timeout: float, every: float = 0.1) -> float:
    started = time.monotonic()
    while not probe():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(every)
    return time.monotonic() - started


def cell(driver: Any, team: str, what: str) -> str:
    try:
        return str(driver.find_element(By.CSS_SELECTOR, f"#team-{team} .{what}").text)
    except Exception:
        return ""


def test_a_game_day_of_five_teams_in_a_real_browser(
    engine: DockerEngine, tmp_path: Path, browsers: Callable[[], Any]
) -> None:
    doors = kit.real()
    db = tmp_path / "drill.db"
    options = gameday.GameDayOptions(
        str(short_drill(tmp_path)), (*AUTOPILOTS, CONSOLE), autopilot=frozenset(AUTOPILOTS), seed=3
    )
    room, _ = gameday.plan(options, doors, db)
    serving = Serving(room).start()
    failure: list[BaseException] = []

    def play() -> None:
        try:
            gameday.run_all(room, doors)
        except BaseException as exc:
            failure.append(exc)

    runner = threading.Thread(target=play, name="gameday", daemon=True)
    runner.start()
    try:
        room_view = browsers()
        room_view.get(f"{serving.url}/")
        wait(
            "every team's baseline on the room view",
            lambda: all(cell(room_view, t, "phase") in ("baseline", "running") for t in room.teams),
            150,
            0.5,
        )
        before = {t: cell(room_view, t, "elapsed") for t in room.teams}
        time.sleep(2.5)
        changed = {t for t in room.teams if cell(room_view, t, "elapsed") != before[t]}
        assert changed == set(room.teams), f"the room view shows every team changing: {changed}"

        wait(
            "the console team's alert",
            lambda: "alert fired" in cell(room_view, CONSOLE, "milestones"),
            150,
            0.5,
        )
        team_view = browsers()
        team_view.get(f"{serving.url}/team?token={room.teams[CONSOLE].token}")
        wait("the team view's charts", lambda: len(team_view.find_elements(By.CSS_SELECTOR, "svg.chart")) == 4, 10)
        latency = team_view.find_element(By.CSS_SELECTOR, 'svg[data-chart="latency"]').get_attribute("outerHTML") or ""
        assert ">UTC</text>" in latency and 'data-marker="alert fired: ' in latency and "data-threshold" in latency
        assert "fault injected" not in latency, "the team's chart does not show when the fault landed"
        team_view.find_element(By.ID, "ack").click()
        took = wait(
            "the acknowledge on the room view", lambda: "acknowledged" in cell(room_view, CONSOLE, "milestones"), 2.0
        )
        assert took <= 2.0
        team_view.find_element(By.ID, "category").send_keys("balancer")
        team_view.find_element(By.ID, "detail").send_keys("app1 weight 100")
        team_view.find_element(By.ID, "diagnose").click()
        wait(
            "the diagnosis answered",
            lambda: (
                "right:" in team_view.find_element(By.ID, "result").text
                or "correct" in team_view.find_element(By.ID, "result").text
            ),
            10,
        )

        # The responder shell: edit the balancer's config, reload, look around with the usual tools.
        fix = (
            "sed -i -E 's/ weight [0-9]+//' /lb/haproxy.cfg && reload && runtime 'show servers state' | head -3"
            " && redis-cli -h db ping && curl -fsS -o /dev/null -w 'lb %{http_code}\\n' http://lb:8080/health"
            " && ls -a /lb && (ls / ; test ! -e /var/run/docker.sock && echo no-docker)"
            " && logs app1 | grep -m1 'serving on'"
        )
        shell = subprocess.run(
            [sys.executable, "-m", "cli.main", "shell", "--team", CONSOLE, "--db", str(db), "-c", fix],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=ROOT,
        )
        assert shell.returncode == 0, shell.stdout + shell.stderr
        assert "reloaded gracefully" in shell.stdout and "PONG" in shell.stdout and "lb 200" in shell.stdout
        assert "app1: serving on" in shell.stdout, "the replicas' logs are in the shell"
        assert "no-docker" in shell.stdout and "fault" not in shell.stdout and "drill.db" not in shell.stdout

        wait("the console team mitigated", lambda: "mitigated" in cell(room_view, CONSOLE, "milestones"), 60, 0.5)
        team_view.find_element(By.ID, "resolve").click()
        artifacts_dir = artifacts()
        team_view.save_screenshot(str(artifacts_dir / "gameday-team.png"))
        wait("every team ended", lambda: room.over, 200, 0.5)
        wait("the room view's end", lambda: "(over)" in room_view.find_element(By.ID, "title").text, 5)
        assert "weights-skew" not in room_view.find_element(By.TAG_NAME, "body").text, "no reveal before the word"
        facilitator = team_view  # the same browser, now the facilitator's
        facilitator.get(f"{serving.url}/facilitator?token={room.facilitator_token}")
        wait("the facilitator's truth", lambda: "weights-skew" in cell(facilitator, CONSOLE, "fault"), 5)
        facilitator.find_element(By.ID, "reveal-btn").click()
        wait("the reveal on the room view", lambda: "weights-skew" in room_view.find_element(By.ID, "reveal").text, 3)
        room_view.save_screenshot(str(artifacts_dir / "gameday-room.png"))
        facilitator.save_screenshot(str(artifacts_dir / "gameday-facilitator.png"))
        for driver in (room_view, team_view):
            errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
            assert errors == [], errors
    finally:
        if runner.is_alive():
            for name in room.teams:
                room.abort(name)
        runner.join(240)
        serving.stop()
    assert not failure, failure
    results = room.results()
    assert {t["team"]: t["outcome"] for t in results["teams"]} == dict.fromkeys(room.teams, "resolved")
    points = {t["team"]: t["scores"]["points"] for t in results["teams"]}
    board = results["leaderboard"]
    assert [r["team"] for r in board] == sorted(points, key=lambda t: (-points[t], t)) or all(
        board[i]["best_points"] >= board[i + 1]["best_points"] for i in range(len(board) - 1)
    )
    assert [r["best_points"] for r in board] == sorted(points.values(), reverse=True)
    assert (artifacts_dir / "gameday-room.png").stat().st_size > 0
    assert doors.runtime.containers(room.teams[CONSOLE].run_id) == [], "every stack and shell is gone"
