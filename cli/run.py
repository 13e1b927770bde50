"""`drill run` and the responders' commands. Thin: parse options, call one function, print."""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import typer

from cli.common import DB, DRILLS_DIR, RUN, doors, store
from drills import loader
from drills.errors import DrillError
from orchestration.session import Options, run_drill
from playbooks import responders
from playbooks.checks import CHECKS
from scoreboard import render
from scoreboard.timeline import line, public

AS = typer.Option(None, "--as", help="Who you are on the timeline (default: $DRILL_RESPONDER or your login).")


def _who(name: str | None) -> str:
    return name or os.environ.get("DRILL_RESPONDER") or getpass.getuser()


def _echo(message: str) -> None:
    typer.echo(message, err=True)


def _confirm() -> bool:
    if not sys.stdin.isatty():
        return True
    return typer.confirm("\nabort the drill? (the fault is reverted and the stack removed)", default=False)


def run(
    drill: str = typer.Argument(..., help="A drill name (`drill list`) or a drill file."),
    team: str = typer.Option("team", "--team", help="Team name for the scoreboard."),
    responder: list[str] = typer.Option(None, "--responder", help="A responder's name (repeatable)."),
    seed: int = typer.Option(None, "--seed", help="Seed for the fault draw and its moment (default: random)."),
    autopilot: bool = typer.Option(False, "--autopilot", help="A scripted responder follows the playbook."),
    reveal: bool = typer.Option(False, "--reveal", help="Tell the facilitator's terminal what and when."),
    keep: bool = typer.Option(False, "--keep", help="Leave the stack running afterwards (`drill down` it)."),
    quiet: bool = typer.Option(False, "--quiet", help="No narration."),
    gameday: str = typer.Option("", "--gameday", help="Game day label, e.g. 2026-Q4 (default: this quarter)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object at the end."),
    drills_dir: Path = DRILLS_DIR,
    db: Path = DB,
) -> None:
    """Run a drill: stack up, baseline, a hidden fault, responders timed until recovery."""
    options = Options(drill, drills_dir, team, tuple(responder or ()), gameday, seed, autopilot, reveal, keep, quiet)
    timeline = store(db)
    finished = run_drill(options, doors(), timeline, _echo, _confirm)
    events = timeline.events(finished.row.run_id)
    if as_json:
        typer.echo(json.dumps(render.as_json(finished.row, events, finished.card, finished.outcome)))
    else:
        typer.echo(finished.text(timeline))
    raise typer.Exit({"resolved": 0, "timeout": 1}.get(finished.outcome, 130))


def list_drills(drills_dir: Path = DRILLS_DIR) -> None:
    """The drills you can run: built in, and yours in --drills-dir."""
    for name, path in loader.available(drills_dir).items():
        try:
            drill = loader.load_file(path, CHECKS)
            typer.echo(
                f"{name:<20} {drill.title}: {len(drill.variants)} fault variant(s), limit "
                f"{render.duration(drill.time_limit_s)}  ({path})"
            )
        except DrillError as exc:
            typer.echo(f"{name:<20} BROKEN: {exc}")


def show(name: str = typer.Argument(..., help="A drill name or file."), drills_dir: Path = DRILLS_DIR) -> None:
    """Explain a drill: what it runs, what can break (not which), how it is scored."""
    d = loader.load_file(loader.find(name, drills_dir), CHECKS)
    typer.echo(f"{d.title} ({d.name}, {d.source})\n{d.summary}\n")
    typer.echo(f"stack      {d.replicas} replicas x capacity {d.capacity} ({d.service_ms:g} ms each), a balancer, a db")
    typer.echo(f"traffic    {d.rps:g} req/s ({d.model}) from {d.users} viewers")
    typer.echo(
        f"phases     baseline {d.baseline_s:g}s, fault {d.inject_window_s[0]:g}-{d.inject_window_s[1]:g}s "
        f"later, time limit {render.duration(d.time_limit_s)}"
    )
    typer.echo(f"faults     one of {len(d.variants)} variants, drawn by seed (hidden from responders)")
    typer.echo(
        "alerts     " + "; ".join(f"{r.name}: {r.sli} {r.op} {r.threshold:g} for {r.hold_s:g}s" for r in d.rules)
    )
    typer.echo(
        f"recovery   p95 <= {d.recovery.p95_ms:g} ms, errors <= {d.recovery.error_rate:.0%}, share skew <= "
        f"{d.recovery.max_share_skew:g}, held {d.recovery.sustain_s:g}s"
    )
    typer.echo(f"hints      {len(d.hints)} tiers costing {', '.join(str(h.cost) for h in d.hints)} points")
    typer.echo(
        "scoring    "
        + "; ".join(
            f"{k} {v.points:g} pts (full <= {v.full_s:g}s, 0 at {v.zero_s:g}s)" for k, v in d.rubric.phases.items()
        )
    )


def validate(path: Path = typer.Argument(..., help="A drill file.")) -> None:
    """Check a drill file; every error at once, with its line and YAML path."""
    try:
        drill = loader.load_file(path, CHECKS)
    except loader.DrillFileError as exc:
        for error in exc.errors:
            typer.echo(error, err=True)
        raise typer.Exit(2) from None
    typer.echo(f"{path}: valid drill {drill.name!r} ({len(drill.variants)} fault variants)")


def ack(run_id: str = RUN, who: str = AS, db: Path = DB) -> None:
    """Acknowledge the alert."""
    typer.echo(f"recorded: {line(responders.ack(store(db), run_id, _who(who)))}")


def diagnose(
    category: str = typer.Argument(..., help="Where the cause is: balancer, database, ddos, cdn, app, network..."),
    detail: str = typer.Option("", "--detail", help="What exactly, in your words."),
    run_id: str = RUN,
    who: str = AS,
    db: Path = DB,
) -> None:
    """State a diagnosis; it is graded against the injected fault (a wrong one is a red herring)."""
    event, verdict = responders.diagnose(store(db), run_id, _who(who), category, detail)
    typer.echo(f"recorded: {line(event)}\n{'right' if verdict.correct else 'not it'}: {verdict.explanation}")


def note(
    text: str = typer.Argument(..., help="What you saw or did."), run_id: str = RUN, who: str = AS, db: Path = DB
) -> None:
    """Put a note on the timeline."""
    typer.echo(f"recorded: {line(responders.note(store(db), run_id, _who(who), text))}")


def hint(run_id: str = RUN, who: str = AS, db: Path = DB) -> None:
    """Take the next hint (from the playbook); it costs points."""
    event, text = responders.hint(store(db), run_id, _who(who))
    typer.echo(f"recorded: {line(event)} (costs {event.data['cost']} points)\n\n{text}")


def resolve(run_id: str = RUN, who: str = AS, db: Path = DB) -> None:
    """Declare resolved: accepted only if drill observes recovery, else recorded as premature."""
    answer = responders.request(store(db), run_id, _who(who), "resolve", ("resolve_declared", "premature_resolve"))
    typer.echo(f"recorded: {line(answer)}")
    raise typer.Exit(0 if answer.event == "resolve_declared" else 1)


def abort(run_id: str = RUN, who: str = AS, db: Path = DB) -> None:
    """End the run now (facilitator): fault reverted, stack removed, saved as aborted."""
    answer = responders.request(store(db), run_id, _who(who), "abort", ("aborted",))
    typer.echo(f"recorded: {line(answer)}")


def timeline(run_id: str = RUN, db: Path = DB) -> None:
    """The active run's timeline so far (the fault's moment stays hidden until the end)."""
    timeline = store(db)
    row = timeline.active_run(run_id)
    for event in public(timeline.events(row.run_id)):
        if event.event not in ("fault_injected", "fault_reverted"):
            typer.echo(line(event))


def register(app: typer.Typer) -> None:
    examples: dict[Callable[..., None], str] = {
        run: "drill run traffic-tango --team blue --responder ana --responder raj",
        list_drills: "drill list --drills-dir ./drills",
        show: "drill show traffic-tango",
        validate: "drill validate drills/my-drill.yaml",
        ack: "drill ack --as ana",
        diagnose: "drill diagnose balancer --detail 'weights 100/1/1' --as ana",
        note: "drill note 'db answers PING'",
        hint: "drill hint --as raj",
        resolve: "drill resolve --as ana",
        abort: "drill abort",
        timeline: "drill timeline",
    }
    for function, example in examples.items():
        name = "list" if function is list_drills else function.__name__
        app.command(name, epilog=f"Example: {example}")(function)
