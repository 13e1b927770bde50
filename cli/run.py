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
from orchestration.session import Options, run_drill
from playbooks import responders
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
    finished = run_drill(options, doors(), db, _echo, _confirm)
    typer.echo(json.dumps(finished.as_json()) if as_json else finished.text())
    raise typer.Exit({"resolved": 0, "timeout": 1}.get(finished.outcome, 130))


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


def timeline(
    run_id: str = RUN, db: Path = DB, as_json: bool = typer.Option(False, "--json", help="JSON events.")
) -> None:
    """The active run's timeline so far (the fault's moment stays hidden until the end)."""
    timeline = store(db)
    row = timeline.active_run(run_id)
    shown = [e for e in public(timeline.events(row.run_id)) if e.event not in ("fault_injected", "fault_reverted")]
    typer.echo(json.dumps([e.as_dict() for e in shown]) if as_json else "\n".join(line(e) for e in shown))


def register(app: typer.Typer) -> None:
    examples: dict[Callable[..., None], str] = {
        run: "drill run traffic-tango --team blue --responder ana --responder raj",
        ack: "drill ack --as ana",
        diagnose: "drill diagnose balancer --detail 'weights 100/1/1' --as ana",
        note: "drill note 'db answers PING'",
        hint: "drill hint --as raj",
        resolve: "drill resolve --as ana",
        abort: "drill abort",
        timeline: "drill timeline",
    }
    for function, example in examples.items():
        name = function.__name__
        app.command(name, epilog=f"Example: {example}")(function)
