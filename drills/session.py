"""`drill run`: one game day's run, from drill file to saved, scored timeline."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from chaos.engine import Engine
from drills import controller, loader
from drills.definition import Drill
from drills.errors import DrillError, UsageError
from drills.runs import new_run_id
from drills.world import RealWorld
from playbooks.autopilot import Autopilot
from scoreboard import render
from scoreboard.scoring import Scorecard, score
from scoreboard.store import RunRow, Store
from scoreboard.timeline import Event


class SystemClock:
    def now(self) -> float:
        return time.monotonic()

    def utc(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


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


@dataclass(frozen=True)
class Finished:
    row: RunRow
    drill: Drill
    outcome: str
    card: Scorecard

    def text(self, store: Store) -> str:
        return render.text(self.row, self.drill, store.events(self.row.run_id), self.card, self.outcome)


def run_drill(
    options: Options, store: Store, say: Callable[[str], None], confirm_abort: Callable[[], bool]
) -> Finished:
    drill = loader.load_file(loader.find(options.drill, options.drills_dir))
    engine = Engine.connect()
    seed = options.seed if options.seed is not None else secrets.randbelow(2**31)
    run_id = new_run_id()
    chosen = controller.draw(drill, seed)
    gameday = options.gameday or datetime.now(UTC).strftime("%Y-Q") + str((datetime.now(UTC).month - 1) // 3 + 1)
    store.begin_run(
        run_id,
        drill.name,
        str(Path(drill.source).resolve()),
        options.team,
        list(options.responders),
        gameday,
        seed,
        chosen.variant.label,
    )
    say(
        f"run {run_id}: {drill.title} for {options.team} (seed {seed}); responders: `drill ack`, `drill diagnose`, "
        f"`drill status` from other terminals"
    )
    narrate = (lambda line: None) if options.quiet else say
    pilot: list[Autopilot] = []

    def ready(run: controller.Run) -> None:
        say(
            f"  balancer {run.endpoints.get('url')}  stats {run.endpoints.get('stats_url')}  "
            f"runtime API {run.endpoints.get('runtime_api')}"
        )
        if options.autopilot:
            pilot.append(Autopilot(engine, store, run_id, drill.time_limit_s, say))
            pilot[0].start()

    run = controller.Run(
        drill,
        run_id,
        options.team,
        seed,
        store,
        RealWorld(engine, drill, say, seed, run_id),
        SystemClock(),
        narrate,
        live=say,
        confirm_abort=confirm_abort,
        reveal=options.reveal,
        keep=options.keep,
        on_ready=ready,
    )
    try:
        outcome = controller.execute(run)
    finally:
        for p in pilot:
            p.stop()
        events = store.events(run_id)
        card = score(events, drill.rubric)
        final = next((e.event for e in reversed(events) if e.event in ("resolved", "timeout", "aborted")), "aborted")
        store.end_run(run_id, final, card.as_dict())
    return Finished(store.run(run_id), drill, outcome, card)


def abandon(store: Store, run_id: str) -> str | None:
    """After `drill down` of a run whose controller died: close its timeline as aborted."""
    try:
        row = store.run(run_id)
    except UsageError:
        return None
    if not row.active:
        return None
    store.append(run_id, "aborted", "drill", "the run's controller was lost; `drill down` removed the stack")
    try:
        rubric = loader.load_file(Path(row.drill_file)).rubric
        scores = score(store.events(run_id), rubric).as_dict()
    except DrillError:
        scores = {}
    store.end_run(run_id, "aborted", scores)
    return f"run {run_id} recorded as aborted on the timeline"


def describe_active(store: Store, row: RunRow) -> str:
    """A responder's view of a running drill: no word of the fault or when it landed."""
    events = store.events(row.run_id)
    firing: dict[str, bool] = {}
    for e in events:
        if e.event in ("alert_fired", "alert_cleared"):
            firing[str(e.data.get("rule", e.detail))] = e.event == "alert_fired"
    alerts = ", ".join(name for name, on in firing.items() if on) or "none"
    elapsed = (datetime.now(UTC) - datetime.fromisoformat(row.started)).total_seconds()
    last = [e for e in events if e.event not in ("fault_injected", "fault_reverted", "resolve_requested")][-1:]
    latest = f"; latest: {last[0].event} ({last[0].by})" if last else ""
    return f"drill {row.drill}, team {row.team}, {render.duration(elapsed)} in; alerts firing: {alerts}{latest}"


def stored(store: Store, run_id: str) -> tuple[RunRow, Drill, list[Event], Scorecard]:
    """A finished run, re-scored from its timeline with its drill's rubric.

    A running drill is refused: its timeline names the fault, which responders must find themselves.
    """
    row = store.run(run_id)
    if row.active:
        raise UsageError(
            f"run {run_id} is still running: during a drill use `drill status` or `drill timeline`; "
            "the full record opens once it has ended"
        )
    drill = loader.load_file(Path(row.drill_file))
    events = store.events(run_id)
    return row, drill, events, score(events, drill.rubric)
