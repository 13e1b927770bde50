"""`drill gameday run`: many teams, one room, one facilitator who holds the truth.

Each team is one controller.Run (its own plan, world and bus) in a thread of its own, over one
store. By default every team gets the same draw (variant and moment: a fair leaderboard). A
Live subscriber on every team's bus keeps the Room: what the facilitator's server shows and
pushes. The Room decides who sees what: a team's token sees its own team, the facilitator's
token everything; the fault, the seed, the moment and the snapshots stay with the facilitator
until the game day ends.
"""

from __future__ import annotations

import math
import secrets
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from doors.clock import quarter
from doors.kit import Doors
from drills import loader
from drills.definition import Drill
from drills.errors import DrillError, UsageError
from orchestration import controller, teardown
from orchestration.bus import Beat, Bus, Happened, Message, Seen
from orchestration.session import Responders, close
from orchestration.subscribers import StoreWriter
from orchestration.world import RealWorld
from playbooks import grading, responders
from playbooks.checks import CHECKS
from scoreboard import postmortem, render, report
from scoreboard.leaderboard import leaderboard
from scoreboard.scoring import score
from scoreboard.store import Store, open_store
from scoreboard.timeline import PUBLIC, Event
from stack import gamedaylock, ownapp, shell
from stack.rundir import RunDir, new_run_id

HIDDEN = ("fault_injected", "fault_reverted")  # what no team sees before the end
MILESTONES = ("alert_fired", "acknowledged", "diagnosed", "mitigated", "resolved", "timeout", "aborted")
HISTORY = 900  # seconds of sparkline kept per team


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


@dataclass
class Team:
    """One team's run as the room sees it (mutated only under the Room's lock)."""

    name: str
    token: str
    run_id: str
    seed: int
    draw: controller.Draw
    autopilot: bool
    started_at: datetime | None = None
    phase: str = "waiting"
    elapsed: float = 0.0
    alerts: set[str] = field(default_factory=set)
    milestones: dict[str, float] = field(default_factory=dict)
    history: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=HISTORY))
    events: list[dict[str, Any]] = field(default_factory=list)
    outcome: str | None = None
    points: float = 0.0
    endpoints: dict[str, str] = field(default_factory=dict)
    last_sample: float = -1.0
    go: threading.Event = field(default_factory=threading.Event)
    seen_ids: set[int] = field(default_factory=set)  # responders' events already on the live timeline

    @property
    def ended(self) -> bool:
        return self.outcome is not None


class Room:
    """The game day's live state and its rules of who sees what."""

    def __init__(self, drill: Drill, gameday: str, store: Store, teams: list[Team]) -> None:
        self.drill, self.gameday, self.store = drill, gameday, store
        self.teams = {t.name: t for t in teams}
        self.facilitator_token = secrets.token_urlsafe(24)
        self.revealed = False
        self.closed = False  # the server is stopping: live streams end
        self.version = 0
        self.lock = threading.RLock()  # the teams' live state: written by their threads, read by the server's
        self._changed = threading.Condition()
        self.on_extend: Callable[[str, float], None] | None = None

    # Tokens ------------------------------------------------------------------------

    def team_of(self, token: str | None) -> str | None:
        if not token:
            return None
        found = [t.name for t in self.teams.values() if secrets.compare_digest(t.token, token)]
        return found[0] if found else None

    def is_facilitator(self, token: str | None) -> bool:
        return bool(token) and secrets.compare_digest(self.facilitator_token, token or "")

    def may_see(self, token: str | None, team: str) -> bool:
        return self.is_facilitator(token) or self.team_of(token) == team

    # Changes ----------------------------------------------------------------------

    def touch(self) -> None:
        with self._changed:
            self.version += 1
            self._changed.notify_all()

    def wait(self, seen: int, timeout: float) -> int:
        """Block until the state changes past `seen` (or the timeout); the current version."""
        with self._changed:
            self._changed.wait_for(lambda: self.version != seen, timeout)
            return self.version

    @property
    def over(self) -> bool:
        return all(t.ended for t in self.teams.values())

    @property
    def disclosed(self) -> bool:
        """May the fault be shown to the room? After every team has ended, once revealed."""
        return self.over and self.revealed

    # Views ------------------------------------------------------------------------

    def live(self, truth: bool) -> bool:
        """May this viewer see the live figures (SLIs, charts)? Not at a level whose live
        view is the clock only (veteran: the team's own tools tell them), until the game day ends;
        the facilitator always."""
        return truth or self.over or self.drill.live != "clock"

    def summary(self, team: Team, truth: bool) -> dict[str, Any]:
        shown_phase = team.phase if truth or team.phase != "respond" else "running"
        live = self.live(truth)
        out: dict[str, Any] = {
            "team": team.name,
            "phase": "ended" if team.ended else shown_phase,
            "elapsed_s": round(team.elapsed, 1),
            "level": self.drill.level,
            "alerts": sorted(team.alerts),  # the page: every level gets paged
            "milestones": dict(team.milestones),
            "sparkline": [{"t": h["t"], "p95": h["p95"], "errors": h["errors"]} for h in team.history][-120:]
            if live
            else [],
            "points": round(team.points, 1),
            "outcome": team.outcome,
            "autopilot": team.autopilot,
        }
        if truth or self.disclosed:
            out["fault"] = team.draw.variant.label
            out["inject_after_s"] = team.draw.inject_after_s
        if truth:
            out["seed"] = team.seed
            out["run_id"] = team.run_id
        return out

    def room(self, truth: bool = False) -> dict[str, Any]:
        with self.lock:
            return self._room(truth)

    def _room(self, truth: bool) -> dict[str, Any]:
        board = sorted(self.teams.values(), key=lambda t: (-t.points, t.name))
        return {
            "drill": self.drill.name,
            "title": self.drill.title,
            "gameday": self.gameday,
            "over": self.over,
            "revealed": self.disclosed or (truth and self.revealed),
            "version": self.version,
            "teams": [self.summary(t, truth) for t in self.teams.values()],
            "leaderboard": [
                {"rank": i + 1, "team": t.name, "points": round(t.points, 1), "outcome": t.outcome}
                for i, t in enumerate(board)
            ],
        }

    def team_view(self, name: str, truth: bool = False) -> dict[str, Any]:
        with self.lock:
            return self._team_view(name, truth)

    def _team_view(self, name: str, truth: bool) -> dict[str, Any]:
        team = self.teams[name]
        if truth or self.over:
            shown = list(team.events)
        else:  # a team that has ended learns its fault with the room, not before the others end
            shown = [
                {**e, "detail": e["detail"].split("; the fault was", 1)[0]}
                for e in team.events
                if e["event"] not in HIDDEN
            ]
        return {
            **self.summary(team, truth),
            "history": list(team.history) if self.live(truth) else [],
            "timeline": shown,
            "thresholds": {
                "p95_ms": self.drill.recovery.p95_ms,
                "error_rate": self.drill.recovery.error_rate,
                "max_share_skew": self.drill.recovery.max_share_skew,
            },
            "started_at": team.started_at.isoformat() if team.started_at else None,
            "shell": f"drill shell --team {team.name}",
            "endpoints": team.endpoints,
        }

    def results(self) -> dict[str, Any]:
        """Every team's record and the game day's leaderboard (the facilitator's, at the end)."""
        rows = [self.store.run(t.run_id) for t in self.teams.values()]
        teams = []
        for row in rows:
            events = self.store.events(row.run_id)
            card = score(events, self.drill.rubric)
            teams.append(render.as_json(row, events, card, row.outcome or "aborted"))
        board = [{"rank": i + 1, **s.as_dict()} for i, s in enumerate(leaderboard([r for r in rows if not r.active]))]
        return {"gameday": self.gameday, "drill": self.drill.name, "teams": teams, "leaderboard": board}

    def report_html(self, name: str) -> str:
        row = self.store.run(self.teams[name].run_id)
        events = self.store.events(row.run_id)
        card = score(events, self.drill.rubric)
        return report.page(row, self.drill, events, card, self.store.slis(row.run_id))

    def postmortem_md(self, name: str) -> str:
        row = self.store.run(self.teams[name].run_id)
        events = self.store.events(row.run_id)
        return postmortem.draft(row, self.drill, events, score(events, self.drill.rubric))

    # Actions: the same functions `drill ack`, `drill diagnose` ... call -------------------

    def act(self, name: str, action: str, by: str, text: str = "", detail: str = "") -> dict[str, Any]:
        team = self.teams[name]
        if team.ended:
            raise UsageError(f"team {name}'s run has ended")
        event, said = self._act(team, action, by, text, detail)
        if event.event in ("acknowledged", "note", "diagnosed", "hypothesis", "hint"):
            Live(self, team)(Seen(event))  # on the room view now, not at the controller's next beat
        return said

    def _act(self, team: Team, action: str, by: str, text: str, detail: str) -> tuple[Event, dict[str, Any]]:
        store, run_id = self.store, team.run_id
        if action == "ack":
            event = responders.ack(store, run_id, by)
            return event, {"recorded": event.as_dict()}
        if action == "note":
            event = responders.note(store, run_id, by, text)
            return event, {"recorded": event.as_dict()}
        if action == "diagnose":
            event, verdict = grading.diagnose(store, run_id, by, text, detail)
            return event, {"recorded": event.as_dict(), "correct": verdict.correct, "explanation": verdict.explanation}
        if action == "hint":
            event, hint_text = grading.hint(store, run_id, by)
            return event, {"recorded": event.as_dict(), "hint": hint_text}
        if action == "resolve":
            answer = responders.request(store, run_id, by, "resolve", ("resolve_declared", "premature_resolve"))
            return answer, {"recorded": answer.as_dict(), "accepted": answer.event == "resolve_declared"}
        raise UsageError(f"unknown action {action!r}: ack, note, diagnose, hint or resolve")

    def start(self, name: str) -> None:
        self.teams[name].go.set()
        self.touch()

    def abort(self, name: str) -> None:
        team = self.teams[name]
        if not team.go.is_set():  # never started: nothing to tear down
            team.outcome = "aborted"
            team.go.set()
            self.touch()
            return
        if not team.ended:
            self.store.append(self.teams[name].run_id, "abort_requested", "facilitator", "abort requested")

    def extend(self, name: str, seconds: float) -> None:
        if not math.isfinite(seconds) or seconds <= 0:
            raise UsageError("seconds must be a positive number")
        run_id = self.teams[name].run_id
        self.store.append(run_id, "extend_requested", "facilitator", f"extend by {seconds:g}s", {"seconds": seconds})

    def reveal(self) -> None:
        self.revealed = True
        self.touch()


@dataclass
class Live:
    """A team's bus subscriber: keeps the team's part of the Room."""

    room: Room
    team: Team

    def __call__(self, message: Message) -> None:
        with self.room.lock:
            self._take(message)

    def _take(self, message: Message) -> None:
        team = self.team
        if isinstance(message, Happened):
            self._event(message.event, self._offset(message.at), message.by, message.detail, dict(message.data))
            if message.event == "stack_ready":
                team.endpoints = {k: str(v) for k, v in (message.data.get("endpoints") or {}).items()}
        elif isinstance(message, Seen):
            e = message.event
            if e.id in team.seen_ids:
                return
            team.seen_ids.add(e.id)
            self._event(e.event, self._offset(datetime.fromisoformat(e.at)), e.by, e.detail, dict(e.data))
        elif isinstance(message, Beat):
            team.phase, team.elapsed = message.phase, message.elapsed
            slis = message.slis
            if slis is not None and message.elapsed - team.last_sample >= 1.0:
                team.last_sample = message.elapsed
                team.history.append(
                    {
                        "t": round(message.elapsed, 1),
                        "p50": round(slis.p50_latency_ms, 1),
                        "p95": round(slis.p95_latency_ms, 1),
                        "p99": round(slis.p99_latency_ms, 1),
                        "errors": round(slis.error_rate, 4),
                        "shares": {k: round(v, 3) for k, v in slis.shares.items()},
                        "rate": round(slis.rate, 1),
                        "affected": round(slis.audience_affected, 3),
                        "rebuffering": round(slis.rebuffering_ratio, 3),
                    }
                )
                self.room.touch()

    def _offset(self, at: datetime) -> float:
        """Seconds since the team's run started: the same base as the beats' elapsed time."""
        team = self.team
        team.started_at = team.started_at or at
        return round((at - team.started_at).total_seconds(), 2)

    def _event(self, name: str, offset: float, by: str, detail: str, data: dict[str, Any]) -> None:
        team = self.team
        if name == "alert_fired":
            team.alerts.add(str(data.get("rule", detail)))
        elif name == "alert_cleared":
            team.alerts.discard(str(data.get("rule", detail)))
        if name in MILESTONES and name not in team.milestones:
            team.milestones[name] = offset
        if name in PUBLIC:
            shown = {"event": name, "offset_s": offset, "by": by, "detail": detail}
            if name in ("alert_fired", "alert_cleared"):  # which alert: the charts name it and shade its span
                shown["rule"] = str(data.get("rule", detail))
            team.events.append(shown)
            if name not in HIDDEN:
                team.points = score(self.room.store.events(team.run_id), self.room.drill.rubric).points
        self.room.touch()


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
