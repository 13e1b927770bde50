"""`drill run`: one game day's run, from drill file to saved, scored timeline."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from doors.clock import quarter
from doors.kit import Doors
from drills import loader
from drills.definition import Drill
from drills.errors import UsageError
from orchestration import controller
from orchestration.bus import Bus, Happened, Message
from orchestration.subscribers import Narrator, StoreWriter
from orchestration.world import RealWorld
from playbooks.autopilot import Autopilot
from playbooks.checks import CHECKS
from scoreboard import render
from scoreboard.scoring import Scorecard, score
from scoreboard.store import RunRow, Store, open_store
from scoreboard.timeline import Event
from stack import gamedaylock, ownapp
from stack.handle import open_stack
from stack.rundir import new_run_id


@dataclass(frozen=True)
class Options:
    drill: str
    drills_dir: Path | None = None
    team: str = "team"
    responders: tuple[str, ...] = ()
    gameday: str = ""
    seed: int | None = None
    autopilot: bool = False
    reveal: bool = False
    keep: bool = False
    quiet: bool = False
    level: str | None = None  # overrides the drill file's `level:` (drills.levels)
    autopilot_watch_s: float = 0.0  # the autopilot watches this long after acknowledging


@dataclass(frozen=True)
class Finished:
    row: RunRow
    drill: Drill
    outcome: str
    card: Scorecard
    events: tuple[Event, ...]

    def text(self) -> str:
        return render.text(self.row, self.drill, list(self.events), self.card, self.outcome)

    def as_json(self) -> dict[str, object]:
        return render.as_json(self.row, list(self.events), self.card, self.outcome)


class Responders:
    """Starts the autopilot, if asked for, once the stack is ready (a bus subscriber)."""

    def __init__(
        self, doors: Doors, store: Store, drill: Drill, run_id: str, autopilot: bool, watch_s: float = 0.0
    ) -> None:
        self.doors, self.store, self.drill, self.run_id, self.wanted = doors, store, drill, run_id, autopilot
        self.watch_s = watch_s
        self.pilot: Autopilot | None = None

    def __call__(self, message: Message) -> None:
        if isinstance(message, Happened) and message.event == "stack_ready" and self.wanted:
            stack = open_stack(self.doors, self.run_id)
            self.pilot = Autopilot(stack, self.store, self.drill.time_limit_s, self.watch_s)
            self.pilot.start()

    def stop(self) -> None:
        if self.pilot is not None:
            self.pilot.stop()


WorldFactory = Callable[[Doors, Drill, Bus, int, str], controller.World]


def run_drill(
    options: Options,
    doors: Doors,
    db: str | Path | None,
    write: Callable[[str], None],
    confirm_abort: Callable[[], bool],
    make_world: WorldFactory = RealWorld,
) -> Finished:
    """Load and check the drill, then (only then) open the store and start: a broken drill file
    or a missing engine leaves no database and no run behind."""
    drill = loader.load_file(loader.find(options.drill, options.drills_dir), CHECKS, options.level)
    ownapp.check_image(doors.runtime, drill.app, drill.source)  # connects now: no engine, no run
    store = open_store(db, doors.clock, create=True)
    seed = options.seed if options.seed is not None else secrets.randbelow(2**31)
    run_id = new_run_id()
    gameday = options.gameday or quarter(doors.clock.utc())
    variant = controller.draw(drill, seed).variant.label
    source = str(Path(drill.source).resolve())
    team, names = options.team, list(options.responders)
    level = options.level or ""
    store.begin_run(run_id, drill.name, source, team, names, gameday, seed, variant, doors.clock.utc(), level)
    bus = Bus()
    bus.subscribe(StoreWriter(store, run_id))
    bus.subscribe(Narrator(drill, write, options.reveal, options.quiet))
    responders = Responders(doors, store, drill, run_id, options.autopilot, options.autopilot_watch_s)
    bus.subscribe(responders)
    bus.notice(
        f"run {run_id}: {drill.title} for {team} (seed {seed}); "
        "responders: `drill ack`, `drill diagnose`, `drill status` from other terminals"
    )
    plan = controller.RunPlan(drill, run_id, options.team, seed, options.keep)
    world = make_world(doors, drill, bus, seed, run_id)
    run = controller.Run(plan, world, doors.clock, bus, store, confirm_abort)
    try:
        outcome = controller.execute(run)
    finally:
        responders.stop()
        card = close(store, run_id, drill)
    return Finished(store.run(run_id), drill, outcome, card, tuple(store.events(run_id)))


def close(store: Store, run_id: str, drill: Drill) -> Scorecard:
    """Score the run from its timeline and store the outcome and the scores."""
    events = store.events(run_id)
    card = score(events, drill.rubric)
    final = next((e.event for e in reversed(events) if e.event in ("resolved", "timeout", "aborted")), "aborted")
    store.end_run(run_id, final, card.as_dict())
    return card


def stored(store: Store, run_id: str, token: str | None = None) -> tuple[RunRow, Drill, list[Event], Scorecard]:
    """A finished run, re-scored from its timeline with its drill's rubric.

    A running drill is refused: its timeline names the fault, which responders must find themselves;
    so is a game day's ended run while other teams still play, unless the token is the facilitator's.
    """
    row = store.run(run_id)
    gamedaylock.check_readable(run_id, token)
    if row.active:
        raise UsageError(
            f"run {run_id} is still running: during a drill use `drill status` or `drill timeline`; "
            "the full record opens once it has ended"
        )
    drill = loader.load_file(Path(row.drill_file), CHECKS, row.level or None)
    events = store.events(run_id)
    return row, drill, events, score(events, drill.rubric)
