"""What every command shares: the doors (built once per process), the store, common options."""

from __future__ import annotations

import functools
import getpass
import os

import click
import typer

from doors import kit
from drills.errors import UsageError
from scoreboard.store import Store, default_target, exists, is_url, open_store

DB = typer.Option(
    None, "--db", help="Timeline database: a file or postgresql://... (default: $DRILL_DB or <DRILL_HOME>/drill.db)."
)
RUN = typer.Option(None, "--run", help="The drill run (default: the one active run).")
DRILLS_DIR = typer.Option(None, "--drills-dir", help="Your own drills (default: ./drills).")


@functools.cache
def doors() -> kit.Doors:
    """The real doors; the Docker engine is connected on first use, not here."""
    return kit.real()


def database(db: str | None) -> str | None:
    """The command's --db, else drill's own `drill --db X COMMAND`, else None ($DRILL_DB or the default)."""
    if db:
        return db
    context = click.get_current_context(silent=True)
    chosen = (context.find_root().obj or {}).get("db") if context is not None else None
    return chosen if isinstance(chosen, str) and chosen else None


def store(db: str | None) -> Store:
    """An existing timeline database; reading commands never create one (only `drill run` does)."""
    return open_store(database(db), doors().clock)


def store_if_any(db: str | None) -> Store | None:
    """The database if there is one: `status` and `down` work on stacks without any."""
    return store(db) if exists(database(db)) else None


def store_if_reachable(db: str | None) -> Store | None:
    """For `down` and `status`, which act on this machine's stacks: a shared scoreboard out of
    reach is a warning line, not a reason to leave a stack up or unseen."""
    try:
        return store_if_any(db)
    except UsageError as exc:
        if not is_url(database(db) or default_target()):
            raise
        typer.echo(f"drill: warning: {exc}; the stacks are handled all the same, the scoreboard is not", err=True)
        return None


def progress(line: str) -> None:
    typer.echo(line, err=True)


AS = typer.Option(None, "--as", help="Who you are on the timeline (default: $DRILL_RESPONDER or your login).")


def who_is(name: str | None) -> str:
    return name or os.environ.get("DRILL_RESPONDER") or getpass.getuser()


def typer_app(**settings: object) -> typer.Typer:
    """A module's commands. Plain help (no rich: importing it would cost every command 50 ms)."""
    return typer.Typer(rich_markup_mode=None, add_completion=False, **settings)  # type: ignore[arg-type]
