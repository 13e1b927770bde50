"""What every store backend shares: the interface (Store), its rows, and the schema checks
and messages, so SQLite and PostgreSQL refuse and explain alike (scoreboard/store.py opens one)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from doors.clock import Clock
from drills.errors import UsageError
from scoreboard.timeline import Event
from stack.rundir import RunDir, check_run_id

URL_SCHEMES = ("postgresql://", "postgres://")
CHOOSE = "--db / DRILL_DB"


@dataclass(frozen=True)
class RunRow:
    run_id: str
    drill: str
    drill_file: str
    team: str
    responders: tuple[str, ...]
    gameday: str
    seed: int
    fault: str
    started: str
    ended: str | None
    outcome: str | None
    scores: dict[str, Any] | None
    level: str = ""  # played at this level (`drill run --level`); "" for the drill file's own

    @property
    def active(self) -> bool:
        return self.outcome is None


class Store(Protocol):
    """What drill reads and writes about runs. `where` names the database in messages
    (a file, or a URL without its password)."""

    clock: Clock
    where: str

    def begin_run(
        self,
        run_id: str,
        drill: str,
        drill_file: str,
        team: str,
        responders: list[str],
        gameday: str,
        seed: int,
        fault: str,
        started: datetime | None = None,
        level: str = "",
    ) -> None: ...

    def end_run(self, run_id: str, outcome: str, scores: dict[str, Any]) -> None: ...

    def run(self, run_id: str) -> RunRow: ...

    def runs(self) -> list[RunRow]: ...

    def active_run(self, run_id: str | None) -> RunRow: ...

    def append(
        self,
        run_id: str,
        event: str,
        by: str,
        detail: str = "",
        data: Mapping[str, Any] | None = None,
        at: datetime | None = None,
    ) -> Event: ...

    def events(self, run_id: str, after: int = 0) -> list[Event]: ...

    def add_slis(self, run_id: str, offset_s: float, data: dict[str, Any]) -> None: ...

    def slis(self, run_id: str) -> list[tuple[float, dict[str, Any]]]: ...


def redact(url: str) -> str:
    """A URL fit for a message: its password replaced."""
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", re.sub(r"(password=)[^&\s]*", r"\1***", url))


# What both backends share ----------------------------------------------------

COLUMNS = {
    "runs": {
        "run_id",
        "drill",
        "drill_file",
        "team",
        "responders",
        "gameday",
        "seed",
        "fault",
        "started",
        "ended",
        "outcome",
        "scores",
        "level",
    },
    "events": {"id", "run_id", "event", "at", "offset_s", "by", "detail", "data"},
    "slis": {"run_id", "offset_s", "data"},
}
# Columns a later migration added, by the schema version that added them (older files lack them).
ADDED = {3: {("runs", "level")}}
# The migration both backends run for schema 3.
ADD_LEVEL = "ALTER TABLE runs ADD COLUMN level TEXT NOT NULL DEFAULT ''"


def check_schema(where: str, version: int, known: int, tables: Mapping[str, set[str]], create: bool) -> None:
    """Refuse what is not a drill database: a newer schema, another program's tables, missing
    columns; and an older schema unless a drill being started may upgrade it."""
    refuse_newer(where, version, known)
    if version == 0 and tables:
        raise UsageError(
            f"{where}: not a drill database (it holds other tables: {', '.join(sorted(tables))}); "
            f"choose another with {CHOOSE}"
        )
    later = {added for number, columns in ADDED.items() if number > version for added in columns}
    missing = [
        f"{name}.{column}"
        for name, columns in COLUMNS.items()
        for column in sorted(columns - tables.get(name, set()))
        if (name, column) not in later
    ]
    if version > 0 and missing:
        raise UsageError(
            f"{where}: not a drill database (schema {version} but no {', '.join(missing[:3])}); "
            f"choose another with {CHOOSE}"
        )
    if 0 < version < known and not create:
        raise UsageError(f"{where}: written by an older drill (schema {version}); a `drill run` upgrades it")


def refuse_newer(where: str, version: int, known: int) -> None:
    if version > known:
        raise UsageError(
            f"{where} has schema version {version}, newer than this drill knows ({known}): "
            f"upgrade drill, or point {CHOOSE} at another database"
        )


def no_database(where: str) -> UsageError:
    return UsageError(
        f"{where}: no drill database there, so no drill has run with it ({CHOOSE}); `drill run` creates one"
    )


def no_run(run_id: str, where: str) -> UsageError:
    return UsageError(f"run {run_id}: no drill run with that id in {where} (`drill runs` lists them)")


def choose_active(store: Store, run_id: str | None) -> RunRow:
    """The run a responder's command is for: the one given, or the only active one, or the only
    active one whose stack is on this machine (a shared scoreboard holds other machines' drills)."""
    if run_id:
        row = store.run(check_run_id(run_id))
        if not row.active:
            raise UsageError(f"--run {run_id}: that run is over ({row.outcome})")
        return row
    active = [r for r in store.runs() if r.active]
    if not active:
        raise UsageError("no drill is running; start one with `drill run traffic-tango`")
    if len(active) > 1:
        here = [r for r in active if RunDir(r.run_id).exists()]  # a shared scoreboard: others' drills too
        if len(here) == 1:
            return here[0]
        raise UsageError(f"{len(active)} drills are running ({', '.join(r.run_id for r in active)}): give --run")
    return active[0]


def run_row(row: Sequence[Any]) -> RunRow:
    """A runs row, columns in table order."""
    return RunRow(
        row[0],
        row[1],
        row[2],
        row[3],
        tuple(json.loads(row[4])),
        row[5],
        row[6],
        row[7],
        row[8],
        row[9],
        row[10],
        json.loads(row[11]) if row[11] else None,
        row[12],
    )


def event_of(row: Sequence[Any]) -> Event:
    """An events row: id, event, at, offset_s, by, detail, data."""
    return Event(row[0], row[1], row[2], round(row[3], 3), row[4], row[5], json.loads(row[6]))


RUN_COLUMNS = (
    "run_id, drill, drill_file, team, responders, gameday, seed, fault, started, ended, outcome, scores, level"
)
