"""`drill gameday run`: many teams at once, with the facilitator's server. Thin: parse, call, print."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from cli.common import DB, DRILLS_DIR, database, doors, typer_app
from drills import levels
from orchestration import gameday

gameday_app = typer_app(help="A game day: many teams, one room, one facilitator.", no_args_is_help=True)


def _say(line: str) -> None:
    typer.echo(line, err=True)


@gameday_app.command(
    "run", epilog="Example: drill gameday run traffic-tango --team red --team blue --autopilot blue --port 8800"
)
def run(
    drill: str = typer.Argument(..., help="A drill name (`drill list`) or a drill file."),
    team: list[str] = typer.Option(..., "--team", help="A team (repeatable)."),
    autopilot: list[str] = typer.Option(None, "--autopilot", help="A TEAM the scripted responder plays (repeatable)."),
    draw_per_team: bool = typer.Option(False, "--draw-per-team", help="Each team its own fault and moment."),
    host: str = typer.Option("127.0.0.1", "--host", help="Where the server listens (0.0.0.0: the room's network)."),
    port: int = typer.Option(0, "--port", help="The server's port (default: a free one)."),
    linger: float = typer.Option(0.0, "--linger", help="Keep serving this many seconds after the end (reports)."),
    hold: bool = typer.Option(False, "--hold", help="Each team starts when the facilitator starts it (its page)."),
    keep: bool = typer.Option(False, "--keep", help="Leave the stacks running afterwards (`drill down` them)."),
    gameday_label: str = typer.Option("", "--gameday", help="Game day label, e.g. 2026-Q4 (default: this quarter)."),
    level: str = typer.Option(None, "--level", help="onboarding, standard or veteran: overrides the drill's `level:`."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object at the end."),
    drills_dir: Path = DRILLS_DIR,
    db: str = DB,
) -> None:
    """Run a drill for every team at once, with the room, team and facilitator views on a local server."""
    options = gameday.GameDayOptions(
        drill,
        tuple(team),
        frozenset(autopilot or ()),
        draw_per_team,
        drills_dir,
        gameday_label,
        None,
        keep,
        levels.check(level) if level is not None else None,
    )
    room, _ = gameday.plan(options, doors(), database(db))
    from facilitator.serve import host_gameday  # Starlette and uvicorn: only for a game day

    host_gameday(room, doors(), (host, port), _say, keep=keep, hold=hold, linger_s=linger)
    results = room.results()
    if as_json:
        typer.echo(json.dumps(results))
    else:
        for row in results["leaderboard"]:
            typer.echo(f"{row['rank']}. {row['team']}: {row['best_points']:g} points ({row['best_run']})")
        for t in results["teams"]:
            typer.echo(f"  {t['team']}: {t['outcome']} (fault {t['fault']}, run {t['run_id']})")
    outcomes = {t.outcome for t in room.teams.values()}
    raise typer.Exit(0 if outcomes == {"resolved"} else 130 if "aborted" in outcomes else 1)


app = typer_app()
app.add_typer(gameday_app, name="gameday")
