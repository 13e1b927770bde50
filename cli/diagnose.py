"""`drill diagnose` and `drill hint`: graded against the drill's definition and its playbook."""

from __future__ import annotations

import typer

from cli import remote
from cli.common import AS, DB, RUN, store, typer_app, who_is
from playbooks import grading
from scoreboard.timeline import line

app = typer_app()


@app.command("diagnose", epilog="Example: drill diagnose balancer --detail 'weights 100/1/1' --as ana")
def diagnose(
    category: str = typer.Argument(..., help="Where the cause is: balancer, database, ddos, cdn, app, network..."),
    detail: str = typer.Option("", "--detail", help="What exactly, in your words."),
    run_id: str = RUN,
    who: str = AS,
    db: str = DB,
) -> None:
    """State a diagnosis; it is graded against the injected fault (a wrong one is a red herring)."""
    if (server := remote.current()) is not None:
        said = server.act("diagnose", who_is(who), category, detail)
        word = "right" if said["correct"] else "not it"
        typer.echo(f"recorded: {remote.line(said['recorded'])}\n{word}: {said['explanation']}")
        return
    event, verdict = grading.diagnose(store(db), run_id, who_is(who), category, detail)
    typer.echo(f"recorded: {line(event)}\n{'right' if verdict.correct else 'not it'}: {verdict.explanation}")


@app.command("hint", epilog="Example: drill hint --as raj")
def hint(run_id: str = RUN, who: str = AS, db: str = DB) -> None:
    """Take the next hint (from the playbook); it costs points."""
    if (server := remote.current()) is not None:
        said = server.act("hint", who_is(who))
        typer.echo(f"recorded: {remote.line(said['recorded'])}\n\n{said['hint']}")
        return
    event, text = grading.hint(store(db), run_id, who_is(who))
    typer.echo(f"recorded: {line(event)} (costs {event.data['cost']} points)\n\n{text}")
