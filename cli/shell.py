"""`drill shell --team red`: a team's responder shell on its stack (the facilitator opens it)."""

from __future__ import annotations

import typer

from cli.common import DB, store, typer_app
from drills.errors import UsageError
from stack import shell as responder_shell

app = typer_app()


@app.command("shell", epilog="Example: drill shell --team red   or   drill shell --team red -c 'stats'")
def shell(
    team: str = typer.Option(..., "--team", help="The team whose running drill to open a shell on."),
    command: str = typer.Option(None, "--command", "-c", help="Run this one command instead of a login shell."),
    db: str = DB,
) -> None:
    """A responder shell on TEAM's stack: the balancer config (edit it, then `reload`), the runtime API
    (`runtime 'show stat'`), the stats page (`stats`), curl and redis-cli. Nothing of the facilitator's."""
    active = [r for r in store(db).runs() if r.active and r.team == team]
    if not active:
        raise UsageError(f"--team {team}: no running drill for that team (`drill runs` lists them)")
    raise typer.Exit(responder_shell.run(active[-1].run_id, command))
