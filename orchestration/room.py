"""A game day's room: every team's live state, and the rules of who sees what.

The Room is what the facilitator's server shows and pushes; each team's Live subscriber (on its
run's bus) keeps that team's part of it. A team's token sees its own team, the facilitator's
token everything; the fault, the seed, the moment and the snapshots stay with the facilitator
until the game day ends (`Room.summary`, `Room.team_view`).
"""

from __future__ import annotations

import math
import secrets
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from drills.definition import Drill
from drills.errors import UsageError
from orchestration import controller
from orchestration.bus import Beat, Happened, Message, Seen
from playbooks import grading, responders
from scoreboard import postmortem, render, report
from scoreboard.leaderboard import leaderboard
from scoreboard.scoring import score
from scoreboard.store import Store
from scoreboard.timeline import PUBLIC, Event

HIDDEN = ("fault_injected", "fault_reverted")  # what no team sees before the end
MILESTONES = ("alert_fired", "acknowledged", "diagnosed", "mitigated", "resolved", "timeout", "aborted")
HISTORY = 900  # seconds of sparkline kept per team


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
