"""What every command shares: the doors (built once per process), the store, common options."""

from __future__ import annotations

import functools
import getpass
import os
from pathlib import Path

import typer

from doors import kit
from scoreboard.store import Store, default_path

DB = typer.Option(None, "--db", help="Timeline database (default: $DRILL_DB or <DRILL_HOME>/drill.db).")
RUN = typer.Option(None, "--run", help="The drill run (default: the one active run).")
DRILLS_DIR = typer.Option(None, "--drills-dir", help="Your own drills (default: ./drills).")


@functools.cache
def doors() -> kit.Doors:
    """The real doors; the Docker engine is connected on first use, not here."""
    return kit.real()


def store(db: Path | None) -> Store:
    """An existing timeline database; reading commands never create one (only `drill run` does)."""
    return Store(db, doors().clock)


def store_if_any(db: Path | None) -> Store | None:
    """The database if there is one: `status` and `down` work on stacks without any."""
    if db is None and not default_path().is_file():
        return None
    return store(db)


def progress(line: str) -> None:
    typer.echo(line, err=True)


AS = typer.Option(None, "--as", help="Who you are on the timeline (default: $DRILL_RESPONDER or your login).")


def who_is(name: str | None) -> str:
    return name or os.environ.get("DRILL_RESPONDER") or getpass.getuser()


def typer_app(**settings: object) -> typer.Typer:
    """A module's commands. Plain help (no rich: importing it would cost every command 50 ms)."""
    return typer.Typer(rich_markup_mode=None, add_completion=False, **settings)  # type: ignore[arg-type]
