"""What every command shares: the doors (built once per process), the store, common options."""

from __future__ import annotations

import functools
from pathlib import Path

import typer

from doors import kit
from scoreboard.store import Store

DB = typer.Option(None, "--db", help="Timeline database (default: $DRILL_DB or <DRILL_HOME>/drill.db).")
RUN = typer.Option(None, "--run", help="The drill run (default: the one active run).")
DRILLS_DIR = typer.Option(None, "--drills-dir", help="Your own drills (default: ./drills).")


@functools.cache
def doors() -> kit.Doors:
    """The real doors; the Docker engine is connected on first use, not here."""
    return kit.real()


def store(db: Path | None) -> Store:
    return Store(db, doors().clock)


def progress(line: str) -> None:
    typer.echo(line, err=True)
