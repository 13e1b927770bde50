"""The timeline store: every run, its events and its SLIs over time, behind one interface.

Two backends answer it. SQLite (scoreboard/store_sqlite.py) is the embedded default: one file,
<DRILL_HOME>/drill.db. PostgreSQL (scoreboard/store_postgres.py) holds a scoreboard shared by
facilitators on several machines: `DRILL_DB=postgresql://...` or `--db postgresql://...`.
Both keep the same tables, the same rules and the same promises:

- the run controller and responders' commands (other processes, other machines) write at once,
  and each append is its own committed transaction: nothing is lost, and a reader that follows
  a run with `events(after=id)` never skips an event committed late;
- the schema is versioned with migrations; only a drill being started (`create=True`) creates
  or upgrades it; a newer schema or another program's tables are refused with one line, never
  rewritten.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from doors.clock import SYSTEM_CLOCK, Clock
from drills.errors import UsageError
from scoreboard.backend import CHOOSE, URL_SCHEMES, RunRow, Store, redact
from stack.rundir import drill_home

__all__ = ["RunRow", "Store", "default_target", "exists", "is_url", "open_store"]


def is_url(target: str | Path | None) -> bool:
    return isinstance(target, str) and target.startswith(URL_SCHEMES)


def default_target() -> str | Path:
    """$DRILL_DB (a file or a postgresql:// URL), else <DRILL_HOME>/drill.db."""
    chosen = os.environ.get("DRILL_DB")
    if not chosen:
        return drill_home() / "drill.db"
    return chosen if is_url(chosen) else Path(chosen)


def default_path() -> Path:
    """The default SQLite file (kept for callers that only ask whether one exists)."""
    target = default_target()
    return target if isinstance(target, Path) else drill_home() / "drill.db"


def exists(target: str | Path | None) -> bool:
    """Whether there may be a database to open: a server always may; a file only once created."""
    chosen = target if target is not None else default_target()
    return is_url(chosen) or Path(chosen).is_file()


def open_store(target: str | Path | None = None, clock: Clock = SYSTEM_CLOCK, create: bool = False) -> Store:
    """The store at `target` (a path or a postgresql:// URL; default $DRILL_DB or the home's
    drill.db). Only `create=True` (a drill being started) may create or migrate it."""
    chosen = target if target is not None else default_target()
    if is_url(chosen):
        from scoreboard.store_postgres import PostgresStore  # psycopg only for those who use it

        return PostgresStore(str(chosen), clock, create)
    if isinstance(chosen, str) and re.match(r"^[a-z][a-z0-9+.-]*://", chosen):
        raise UsageError(
            f"{redact(chosen)}: not a database drill knows ({CHOOSE}); "
            "give a file path or a postgresql://user@host/dbname URL"
        )
    from scoreboard.store_sqlite import SqliteStore

    return SqliteStore(Path(chosen), clock, create)
