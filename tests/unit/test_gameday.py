"""A game day on the fake doors: who sees what through the facilitator's API (every token rule),
the Room's filtering, and two teams' whole drills in fake time with one shared draw."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from chaos import audit
from cli.main import app
from doors.fakes import FakeClock
from facilitator.app import build
from orchestration import gameday
from orchestration.bus import Happened
from playbooks.repair import repair
from scoreboard.store import open_store
from tests.unit.fakestack import up
from tests.unit.test_session_fake import modelled_world

SECRET_KEYS = ("fault", "seed", "inject_after_s", "run_id")


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRILL_HOME", str(tmp_path))


def _room(tmp_path: Path, teams: tuple[str, ...] = ("red", "blue")) -> tuple[gameday.Room, FakeClock]:
    clock = FakeClock()

    class Doors:  # plan() only connects to the runtime and reads the clock
        runtime = object()

    Doors.clock = clock  # type: ignore[attr-defined]
    options = gameday.GameDayOptions("traffic-tango", teams, seed=5)
    room, _ = gameday.plan(options, Doors(), tmp_path / "drill.db")  # type: ignore[arg-type]
    return room, clock


def _inject(room: gameday.Room, name: str) -> None:
    team = room.teams[name]
    live = gameday.Live(room, team)
    at = datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)
    live(Happened("stack_ready", at, data={"endpoints": {"url": "http://127.0.0.1:1"}}))
    room.store.append(team.run_id, "fault_injected", "drill", team.draw.variant.label, {"fault": "x"})
    live(Happened("fault_injected", at, detail=f"{team.draw.variant.label}: secret"))
    live(Happened("alert_fired", at, "monitor", "errors", {"rule": "errors"}))


def _no_secrets(payload: object, room: gameday.Room) -> None:
    text = str(payload)
    for team in room.teams.values():
        assert team.draw.variant.label not in text
        assert team.token not in text
    assert room.facilitator_token not in text
    assert "'seed'" not in text and "inject_after_s" not in text


def test_every_token_rule(tmp_path: Path) -> None:
    room, _ = _room(tmp_path)
    _inject(room, "red")
    red, blue, boss = room.teams["red"].token, room.teams["blue"].token, room.facilitator_token
    client = TestClient(build(room))

    def get(path: str, token: str | None = None) -> tuple[int, object]:
        r = client.get(path, headers={"Authorization": f"Bearer {token}"} if token else {})
        return r.status_code, (r.json() if r.headers.get("content-type", "").startswith("application/json") else r.text)

    def post(path: str, token: str | None, body: dict[str, object] | None = None) -> int:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return client.post(path, headers=headers, json=body or {}).status_code

    # The room is the projector's: no token needed, nothing hidden in it.
    status, payload = get("/api/room")
    assert status == 200
    _no_secrets(payload, room)
    assert get("/")[0] == 200
    # A team reads its own team, never another's, never the truth or the records before the end.
    status, own = get("/api/teams/red", red)
    assert status == 200
    _no_secrets(own, room)
    assert "fault_injected" not in str(own) and "alert_fired" in str(own)
    assert get("/api/teams/blue", red)[0] == 403
    assert get("/api/teams/red", blue)[0] == 403
    assert get("/api/teams/red")[0] == 403
    assert get("/api/teams/red", "forged")[0] == 403
    assert get("/api/teams/red/timeline", blue)[0] == 403
    assert get("/api/teams/red/stream", blue)[0] == 403
    assert get("/api/truth", red)[0] == 403 and get("/api/truth")[0] == 403
    assert get("/api/results", red)[0] == 403
    assert get("/api/teams/red/report", red)[0] == 403
    assert get("/api/teams/red/postmortem", red)[0] == 403
    assert get("/facilitator", red)[0] == 403 and get(f"/facilitator?token={red}")[0] == 403
    assert get(f"/team?token={red}")[0] == 200 and get("/team?token=forged")[0] == 403
    # A team acts for itself only; the facilitator's controls are the facilitator's.
    assert post("/api/teams/blue/ack", red) == 403
    assert post("/api/teams/red/ack", None) == 403
    assert post("/api/teams/red/ack", boss) == 403, "the facilitator does not act for a team"
    assert post("/api/teams/red/control/abort", red) == 403
    assert post("/api/teams/red/control/extend", red, {"seconds": 60}) == 403
    assert post("/api/reveal", red) == 403
    assert post("/api/teams/red/ack", red) == 200
    assert [e.event for e in room.store.events(room.teams["red"].run_id)][-1] == "acknowledged"
    assert all(e.event != "acknowledged" for e in room.store.events(room.teams["blue"].run_id))
    # The facilitator sees the truth.
    status, truth = get("/api/truth", boss)
    assert status == 200 and truth["red"]["fault"] == room.teams["red"].draw.variant.label  # type: ignore[index]
    status, facts = get("/api/teams/red", boss)
    assert "fault_injected" in str(facts) and facts["seed"] == 5  # type: ignore[index]
    assert get(f"/facilitator?token={boss}")[0] == 200
    assert get("/api/me", red)[1] == {"role": "team", "team": "red", "run_id": room.teams["red"].run_id}
    assert post("/api/teams/red/control/extend", boss, {"seconds": 30}) == 200
    assert room.store.events(room.teams["red"].run_id)[-1].event == "extend_requested"


def test_the_fault_shows_only_after_every_team_ended_and_the_reveal(tmp_path: Path) -> None:
    room, _ = _room(tmp_path)
    _inject(room, "red")
    client = TestClient(build(room))
    room.teams["red"].outcome = "timeout"
    label = room.teams["red"].draw.variant.label
    gameday.Live(room, room.teams["red"])(
        Happened("timeout", datetime(2026, 11, 30, 12, 5, tzinfo=UTC), detail=f"time limit; the fault was {label}")
    )
    own = client.get("/api/teams/red", headers={"Authorization": f"Bearer {room.teams['red'].token}"}).json()
    assert "timeout" in str(own) and label not in str(own), "the fault stays hidden until every team has ended"
    assert client.post("/api/reveal", headers={"Authorization": f"Bearer {room.facilitator_token}"}).status_code == 200
    _no_secrets(client.get("/api/room").json(), room)  # blue still running: nothing yet
    room.teams["blue"].outcome = "timeout"
    shown = client.get("/api/room").json()
    assert shown["revealed"] and shown["teams"][0]["fault"] == room.teams["red"].draw.variant.label
    red = room.teams["red"].token
    timeline = client.get("/api/teams/red/timeline", headers={"Authorization": f"Bearer {red}"}).json()
    assert "fault_injected" in [e["event"] for e in timeline], "the end shows the team its fault"


def test_two_teams_whole_drills_share_one_draw_and_the_leaderboard(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = up(tmp_path / "warmup", monkeypatch)
    monkeypatch.setenv("DRILL_HOME", str(tmp_path))
    doors, runtime, clock = fake.doors, fake.runtime, fake.clock
    options = gameday.GameDayOptions("traffic-tango", ("red", "blue"), seed=5)
    room, seeds = gameday.plan(options, doors, tmp_path / "drill.db")
    assert len(set(seeds.values())) == 1
    store = open_store(tmp_path / "drill.db", clock)
    delays = {"red": 1.0, "blue": 300.0}  # red fixes at once, blue takes five minutes more

    def fixer(name: str) -> None:
        run_id = room.teams[name].run_id
        if "alert_fired" not in [e.event for e in store.events(run_id)]:
            clock.at(clock.t + 1, lambda: fixer(name))
            return

        def fix() -> None:
            store.append(run_id, "acknowledged", f"{name}-console", "alert acknowledged")
            config = tmp_path / "runs" / run_id / "lb" / "haproxy.cfg"
            found = audit.at_or_above(audit.audit_haproxy(config.read_text(), "haproxy.cfg"), "warning")
            config.write_text(repair(config.read_text(), found))
            runtime.signal(run_id, "lb", "SIGUSR2")

        clock.at(clock.t + delays[name], fix)

    for name in ("red", "blue"):
        clock.at(clock.t + 1, lambda name=name: fixer(name))  # type: ignore[misc]
        room.start(name)
        gameday.run_team(room, room.teams[name], doors, make_world=modelled_world)
        if name == "red":
            _sealed_while_blue_plays(room, room.teams["red"].draw.variant.label)
    assert room.over and {t.outcome for t in room.teams.values()} == {"resolved"}
    results = room.results()
    assert {t["fault"] for t in results["teams"]} == {room.teams["red"].draw.variant.label}
    assert [r["team"] for r in results["leaderboard"]] == ["red", "blue"]
    assert results["leaderboard"][0]["best_points"] > results["leaderboard"][1]["best_points"]
    assert [t["team"] for t in room.room()["leaderboard"]] == ["red", "blue"]
    assert room.teams["red"].history and room.teams["red"].milestones["resolved"] > 0
    client = TestClient(build(room))
    red = {"Authorization": f"Bearer {room.teams['red'].token}"}
    boss = {"Authorization": f"Bearer {room.facilitator_token}"}
    report = client.get("/api/teams/red/report", headers=boss)
    assert report.status_code == 200 and 'data-chart="latency"' in report.text
    assert client.get("/api/teams/red/postmortem", headers=red).status_code == 200, "the end opens a team's own record"
    assert client.get("/api/teams/blue/postmortem", headers=red).status_code == 403
    assert client.get("/api/results", headers=boss).json()["leaderboard"][0]["team"] == "red"


def _sealed_while_blue_plays(room: gameday.Room, fault: str) -> None:
    """Red has ended, blue plays the same fault: on this machine red's record stays sealed."""
    red = room.teams["red"].run_id
    runner = CliRunner()
    for command in (["show-run", red], ["postmortem", red], ["report", red]):
        said = runner.invoke(app, command)
        assert said.exit_code == 2 and "still in play" in said.output, said.output
    listed = runner.invoke(app, ["runs", "--json"])
    assert listed.exit_code == 0 and fault not in listed.output and "hidden until the end" in listed.output
    boss = runner.invoke(app, ["--token", room.facilitator_token, "show-run", red])
    assert boss.exit_code == 0 and fault in boss.output, boss.output


def test_every_lock_goes_when_the_game_day_is_over(tmp_path: Path) -> None:
    room, _ = _room(tmp_path)
    for name in room.teams:
        room.abort(name)
    gameday.run_all(room, None, hold=True)  # type: ignore[arg-type]
    assert room.over and not list((tmp_path / "gameday-locks").iterdir())


def test_drill_chaos_on_a_game_days_run_needs_the_facilitators_token(tmp_path: Path) -> None:
    room, _ = _room(tmp_path)
    run_id, red = room.teams["red"].run_id, room.teams["red"].token
    lock = tmp_path / "gameday-locks" / run_id
    assert lock.is_file() and room.facilitator_token not in lock.read_text(), "a digest, never the token"
    assert (lock.stat().st_mode & 0o077) == 0
    runner = CliRunner()
    for token in ([], ["--token", red], ["--token", "forged"]):
        said = runner.invoke(app, [*token, "chaos", "revert", "--run", run_id])
        assert said.exit_code == 2 and "belongs to a game day" in said.output, said.output
    said = runner.invoke(app, ["--token", room.facilitator_token, "chaos", "revert", "--run", run_id])
    assert "belongs to a game day" not in said.output  # past the lock (no stack is up here)


def test_held_teams_start_on_the_facilitators_word_and_abort_before_start(tmp_path: Path) -> None:
    room, _ = _room(tmp_path)
    client = TestClient(build(room))
    boss = {"Authorization": f"Bearer {room.facilitator_token}"}
    red = {"Authorization": f"Bearer {room.teams['red'].token}"}
    assert client.post("/api/teams/red/control/start", headers=red).status_code == 403
    assert client.post("/api/teams/red/control/start", headers=boss).status_code == 200
    assert room.teams["red"].go.is_set() and not room.teams["blue"].go.is_set()
    assert client.post("/api/teams/blue/control/abort", headers=boss).status_code == 200
    assert gameday.run_team(room, room.teams["blue"], None) is None  # type: ignore[arg-type]
    assert room.store.run(room.teams["blue"].run_id).outcome == "aborted"
    assert (tmp_path / "gameday-locks" / room.teams["blue"].run_id).exists(), "sealed while red may still play"


def test_responders_cli_acts_through_the_server_for_its_token_only(tmp_path: Path) -> None:
    from facilitator.serve import Serving

    room, _ = _room(tmp_path)
    _inject(room, "red")
    serving = Serving(room).start()
    try:
        runner = CliRunner()
        red = ["--server", serving.url, "--token", room.teams["red"].token]
        said = runner.invoke(app, [*red, "ack", "--as", "ana"])
        assert said.exit_code == 0 and "acknowledged (ana)" in said.output, said.output
        said = runner.invoke(app, [*red, "diagnose", "database", "--as", "raj"])
        assert said.exit_code == 0 and "not it" in said.output
        said = runner.invoke(app, [*red, "timeline"])
        assert "acknowledged (ana)" in said.output and room.teams["red"].draw.variant.label not in said.output
        said = runner.invoke(app, ["--server", serving.url, "--token", "forged", "ack"])
        assert said.exit_code == 2 and "403" in said.output
        said = runner.invoke(app, ["--server", serving.url, "--token", room.facilitator_token, "ack"])
        assert said.exit_code == 2 and "join token" in said.output
        said = runner.invoke(app, ["--server", serving.url, "ack"])
        assert said.exit_code == 2 and "--token" in said.output
        assert not [e for e in room.store.events(room.teams["blue"].run_id) if e.by in ("ana", "raj")]
    finally:
        serving.stop()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--team", "red", "--team", "red"], "each team once"),
        (["--team", "red", "--autopilot", "blue"], "--autopilot blue"),
        (["--team", "red", "--drills-dir", "/nonexistent"], "nosuchdrill"),
    ],
)
def test_gameday_run_refuses_bad_input_before_anything_starts(tmp_path: Path, args: list[str], says: str) -> None:
    drill = "traffic-tango" if "--drills-dir" not in args else "nosuchdrill"
    said = CliRunner().invoke(app, ["gameday", "run", drill, *args, "--db", str(tmp_path / "drill.db")])
    assert said.exit_code == 2 and says in said.output, said.output
    assert not (tmp_path / "drill.db").exists()


def test_a_team_still_busy_after_an_abort_is_taken_down_and_a_second_ctrl_c_does_not_cut_that_short(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    room, _ = _room(tmp_path, ("red", "blue"))
    downed: list[str] = []
    monkeypatch.setattr(gameday.teardown, "down", lambda doors, run_id: downed.append(run_id))
    release = threading.Event()
    stuck = threading.Thread(target=release.wait, daemon=True)  # red's thread, stuck in its own teardown
    done = threading.Thread(target=lambda: None)
    stuck.start()
    done.start()
    interrupts = iter([KeyboardInterrupt(), None])
    original_join = threading.Thread.join

    def join_interrupted_once(self: threading.Thread, timeout: float | None = None) -> None:
        if self is stuck and (exc := next(interrupts, None)) is not None:
            raise exc  # a second Ctrl-C while waiting
        original_join(self, timeout)

    monkeypatch.setattr(threading.Thread, "join", join_interrupted_once)
    gameday._finish_teardowns(room, object(), [stuck, done], wait_s=0.05)  # type: ignore[arg-type]
    release.set()
    assert downed == [room.teams["red"].run_id], "only the team whose thread did not finish is taken down here"
