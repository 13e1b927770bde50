"""`drill run`: a whole drill from the facilitator's terminal. Thin: parse options, call one function, print."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from cli.common import DB, DRILLS_DIR, database, doors, typer_app
from drills import levels
from orchestration.session import Options, run_drill

app = typer_app()


def _echo(message: str) -> None:
    typer.echo(message, err=True)


def _confirm() -> bool:
    if not sys.stdin.isatty():
        return True
    return typer.confirm("\nabort the drill? (the fault is reverted and the stack removed)", default=False)


@app.command("run", epilog="Example: drill run traffic-tango --team blue --responder ana --responder raj")
def run(
    drill: str = typer.Argument(..., help="A drill name (`drill list`) or a drill file."),
    team: str = typer.Option("team", "--team", help="Team name for the scoreboard."),
    responder: list[str] = typer.Option(None, "--responder", help="A responder's name (repeatable)."),
    seed: int = typer.Option(None, "--seed", help="Seed for the fault draw and its moment (default: random)."),
    autopilot: bool = typer.Option(False, "--autopilot", help="A scripted responder follows the playbook."),
    watch: float = typer.Option(
        0.0, "--autopilot-watch", min=0, max=3600, help="Seconds the autopilot watches the graphs before acting."
    ),
    reveal: bool = typer.Option(False, "--reveal", help="Tell the facilitator's terminal what and when."),
    keep: bool = typer.Option(False, "--keep", help="Leave the stack running afterwards (`drill down` it)."),
    quiet: bool = typer.Option(False, "--quiet", help="No narration."),
    gameday: str = typer.Option("", "--gameday", help="Game day label, e.g. 2026-Q4 (default: this quarter)."),
    level: str = typer.Option(
        None, "--level", help="onboarding, standard or veteran: overrides the drill's `level:` (`drill show`)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object at the end."),
    drills_dir: Path = DRILLS_DIR,
    db: str = DB,
) -> None:
    """Run a drill: stack up, baseline, a hidden fault, responders timed until recovery."""
    chosen = levels.check(level) if level is not None else None
    responders = tuple(responder or ())
    options = Options(drill, drills_dir, team, responders, gameday, seed, autopilot, reveal, keep, quiet, chosen, watch)
    finished = run_drill(options, doors(), database(db), _echo, _confirm)
    typer.echo(json.dumps(finished.as_json()) if as_json else finished.text())
    raise typer.Exit({"resolved": 0, "timeout": 1}.get(finished.outcome, 130))
