"""`drill gameday run`: many teams, one room, one facilitator who holds the truth.

Each team is one controller.Run (its own plan, world and bus) in a thread of its own, over one
store. By default every team gets the same draw (variant and moment: a fair leaderboard). A
Live subscriber on every team's bus keeps the Room (orchestration.room): what the facilitator's
server shows and pushes, and who may see what. This module plans the teams and runs them.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from doors.clock import quarter
from doors.kit import Doors
from drills import loader
from drills.definition import Drill
from drills.errors import DrillError, UsageError
from orchestration import controller, teardown
from orchestration.bus import Bus
from orchestration.room import Live, Room, Team
from orchestration.session import Responders, close
from orchestration.subscribers import StoreWriter
from orchestration.world import RealWorld
from playbooks.checks import CHECKS
from scoreboard.store import open_store
from stack import gamedaylock, ownapp, shell
from stack.rundir import RunDir, new_run_id

__all__ = [
    "GameDayOptions",
    "Live",
    "Room",
    "Team",
    "plan",
    "run_all",
    "run_team",
]  # the room's parts live in orchestration.room


@dataclass(frozen=True)
class GameDayOptions:
    drill: str
    teams: tuple[str, ...]
    autopilot: frozenset[str] = frozenset()
    draw_per_team: bool = False
    drills_dir: Path | None = None
    gameday: str = ""
    seed: int | None = None
    keep: bool = False
    level: str | None = None  # overrides the drill file's `level:` (drills.levels)


def plan(options: GameDayOptions, doors: Doors, db: str | Path | None) -> tuple[Room, dict[str, int]]:
    """Load the drill, open the store, draw, register every team's run: nothing started yet."""
    if not options.teams:
        raise UsageError("--team: name at least one team, e.g. --team red --team blue")
    if len(set(options.teams)) != len(options.teams):
        raise UsageError("--team: each team once")
    unknown = sorted(options.autopilot - set(options.teams))
    if unknown:
        raise UsageError(f"--autopilot {unknown[0]}: not one of the teams ({', '.join(options.teams)})")
    drill = loader.load_file(loader.find(options.drill, options.drills_dir), CHECKS, options.level)
    ownapp.check_image(doors.runtime, drill.app, drill.source)  # connects now: no engine, no game day
    store = open_store(db, doors.clock, create=True)
    gameday = options.gameday or quarter(doors.clock.utc())
    shared = options.seed if options.seed is not None else secrets.randbelow(2**31)
    source = str(Path(drill.source).resolve())
    teams, seeds = [], {}
    for i, name in enumerate(options.teams):
        seed = (shared + 7919 * i) % 2**31 if options.draw_per_team else shared
        chosen = controller.draw(drill, seed)
        run_id = new_run_id()
        label, now = chosen.variant.label, doors.clock.utc()
        store.begin_run(run_id, drill.name, source, name, [], gameday, seed, label, now, options.level or "")
        teams.append(Team(name, secrets.token_urlsafe(16), run_id, seed, chosen, name in options.autopilot))
        seeds[name] = seed
    room = Room(drill, gameday, store, teams)
    for team in teams:
        gamedaylock.lock(team.run_id, room.facilitator_token)
    return room, seeds


WorldFactory = Callable[[Doors, Drill, Bus, int, str], controller.World]


def run_team(
    room: Room, team: Team, doors: Doors, keep: bool = False, make_world: WorldFactory = RealWorld
) -> controller.Run | None:
    """One team's drill, to its end (call in the team's thread)."""
    store, drill = room.store, room.drill
    team.go.wait()
    if team.outcome == "aborted":  # aborted before its start
        store.append(team.run_id, "aborted", "facilitator", "aborted before it started")
        close(store, team.run_id, drill)
        return None
    bus = Bus()
    bus.subscribe(StoreWriter(store, team.run_id))
    bus.subscribe(Live(room, team))
    pilot = Responders(doors, store, drill, team.run_id, team.autopilot)
    bus.subscribe(pilot)
    plan_ = controller.RunPlan(drill, team.run_id, team.name, team.seed, keep, team.draw)
    run = controller.Run(plan_, make_world(doors, drill, bus, team.seed, team.run_id), doors.clock, bus, store)
    team.started_at = doors.clock.utc()  # the controller's elapsed time counts from here too
    try:
        controller.execute(run)
    except DrillError as exc:
        team.events.append({"event": "note", "offset_s": team.elapsed, "by": "drill", "detail": str(exc)})
    finally:
        pilot.stop()
        card = close(store, team.run_id, drill)
        team.points = card.points
        team.outcome = store.run(team.run_id).outcome or "aborted"
        room.touch()  # the team's lock stays until every team has ended (run_all)
    return run


def _reloads(room: Room, doors: Doors) -> None:
    """A responder shell's `reload`: the team's balancer gets SIGUSR2, nginx SIGHUP (the shell has no Docker)."""
    for team in room.teams.values():
        if not team.ended and shell.reload_requested(team.run_id):
            try:
                record = RunDir(team.run_id).load()
                nginx = record is not None and record.extra.get("balancer") == "nginx"
                doors.runtime.signal(team.run_id, "lb", "SIGHUP" if nginx else "SIGUSR2")  # nginx -s reload
            except DrillError as exc:
                room.store.append(team.run_id, "note", "drill", f"reload from the responder shell failed: {exc}")


def run_all(
    room: Room, doors: Doors, keep: bool = False, make_world: WorldFactory = RealWorld, hold: bool = False
) -> None:
    """Every team's drill in its own thread (with hold, each from the facilitator's start); Ctrl-C or
    SIGTERM aborts every team, then waits."""
    if not hold:
        for name in room.teams:
            room.start(name)
    threads = [
        threading.Thread(
            target=run_team, args=(room, team, doors, keep, make_world), name=f"drill-team-{team.name}", daemon=True
        )
        for team in room.teams.values()
    ]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            while thread.is_alive():
                _reloads(room, doors)
                thread.join(0.25)
    except BaseException:
        for name in room.teams:
            room.abort(name)
        _finish_teardowns(room, doors, threads)
        raise
    finally:
        for team in room.teams.values():
            gamedaylock.unlock(team.run_id)  # every team has ended or been taken down: the records open


def _finish_teardowns(room: Room, doors: Doors, threads: list[threading.Thread], wait_s: float = 60) -> None:
    """Wait for each team's own teardown; a second Ctrl-C does not cut it short, and a team whose
    thread is still busy after the wait has its fault reverted and its stack removed here."""
    for thread in threads:
        while True:
            try:
                thread.join(wait_s)
                break
            except KeyboardInterrupt:
                continue  # the first one already aborted every team: finish cleaning up
    for team, thread in zip(room.teams.values(), threads, strict=True):
        if thread.is_alive() and team.run_id:
            teardown.down(doors, team.run_id)
