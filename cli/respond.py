"""The responders' commands that only touch the timeline: ack, note, resolve, abort, timeline.

Responders type these all day, so this module imports as little as it can (`drill ack`
starts in about a tenth of a second): the store and the timeline, nothing of the stack."""

from __future__ import annotations

import json

import typer

from cli import remote
from cli.common import AS, DB, RUN, store, typer_app, who_is
from playbooks import responders
from scoreboard.timeline import line, public

app = typer_app()


@app.command("ack", epilog="Example: drill ack --as ana")
def ack(run_id: str = RUN, who: str = AS, db: str = DB) -> None:
    """Acknowledge the alert."""
    if (server := remote.current()) is not None:
        typer.echo(f"recorded: {remote.line(server.act('ack', who_is(who))['recorded'])}")
        return
    typer.echo(f"recorded: {line(responders.ack(store(db), run_id, who_is(who)))}")


@app.command("note", epilog="Example: drill note 'db answers PING'")
def note(
    text: str = typer.Argument(..., help="What you saw or did."), run_id: str = RUN, who: str = AS, db: str = DB
) -> None:
    """Put a note on the timeline."""
    if (server := remote.current()) is not None:
        typer.echo(f"recorded: {remote.line(server.act('note', who_is(who), text)['recorded'])}")
        return
    typer.echo(f"recorded: {line(responders.note(store(db), run_id, who_is(who), text))}")


@app.command("resolve", epilog="Example: drill resolve --as ana")
def resolve(run_id: str = RUN, who: str = AS, db: str = DB) -> None:
    """Declare resolved: accepted only if drill observes recovery, else recorded as premature."""
    if (server := remote.current()) is not None:
        said = server.act("resolve", who_is(who))
        typer.echo(f"recorded: {remote.line(said['recorded'])}")
        raise typer.Exit(0 if said["accepted"] else 1)
    answer = responders.request(store(db), run_id, who_is(who), "resolve", ("resolve_declared", "premature_resolve"))
    typer.echo(f"recorded: {line(answer)}")
    raise typer.Exit(0 if answer.event == "resolve_declared" else 1)


@app.command("abort", epilog="Example: drill abort")
def abort(run_id: str = RUN, who: str = AS, db: str = DB) -> None:
    """End the run now (facilitator): fault reverted, stack removed, saved as aborted."""
    answer = responders.request(store(db), run_id, who_is(who), "abort", ("aborted",))
    typer.echo(f"recorded: {line(answer)}")


@app.command("timeline", epilog="Example: drill timeline --json")
def timeline(
    run_id: str = RUN, db: str = DB, as_json: bool = typer.Option(False, "--json", help="JSON events.")
) -> None:
    """The active run's timeline so far (the fault's moment stays hidden until the end)."""
    if (server := remote.current()) is not None:
        events = server.timeline()
        typer.echo(
            json.dumps(events) if as_json else "\n".join(f"{e['offset_s']:>7.1f}s {remote.line(e)}" for e in events)
        )
        return
    timeline = store(db)
    row = timeline.active_run(run_id)
    shown = [e for e in public(timeline.events(row.run_id)) if e.event not in ("fault_injected", "fault_reverted")]
    typer.echo(json.dumps([e.as_dict() for e in shown]) if as_json else "\n".join(line(e) for e in shown))
