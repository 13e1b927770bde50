"""The timeline store: one SQLite file for every run, its events and its SLIs over time.

The run controller and responders' commands (other processes, other terminals) write to it
at once: WAL mode and a busy timeout make concurrent appends wait their turn instead of
failing, and each append is its own committed transaction, so a controller killed mid-run
loses nothing already recorded. The schema is versioned (PRAGMA user_version) with
migrations; a file from a newer drill is refused, not rewritten.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from doors.clock import SYSTEM_CLOCK, Clock
from drills.errors import DrillError, UsageError
from scoreboard.timeline import Event
from stack.rundir import check_run_id, drill_home

MIGRATIONS = (
    """
    CREATE TABLE runs (
        run_id TEXT PRIMARY KEY, drill TEXT NOT NULL, drill_file TEXT NOT NULL, team TEXT NOT NULL,
        responders TEXT NOT NULL, gameday TEXT NOT NULL, seed INTEGER NOT NULL, fault TEXT NOT NULL,
        started TEXT NOT NULL, ended TEXT, outcome TEXT, scores TEXT
    );
    CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL REFERENCES runs(run_id),
        event TEXT NOT NULL, at TEXT NOT NULL, offset_s REAL NOT NULL, by TEXT NOT NULL,
        detail TEXT NOT NULL, data TEXT NOT NULL
    );
    CREATE INDEX events_by_run ON events(run_id, id);
    CREATE TABLE slis (
        run_id TEXT NOT NULL REFERENCES runs(run_id), offset_s REAL NOT NULL, data TEXT NOT NULL
    );
    CREATE INDEX slis_by_run ON slis(run_id, offset_s);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


def default_path() -> Path:
    return Path(os.environ["DRILL_DB"]) if os.environ.get("DRILL_DB") else drill_home() / "drill.db"


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

    @property
    def active(self) -> bool:
        return self.outcome is None


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
    },
    "events": {"id", "run_id", "event", "at", "offset_s", "by", "detail", "data"},
    "slis": {"run_id", "offset_s", "data"},
}


class Store:
    """The timeline database. Only `create=True` (a drill being started) may create the file or
    migrate it; every other command opens an existing drill database as it is, and a file that
    is not one (another program's SQLite, a wrong schema) is refused, not adopted."""

    def __init__(self, path: Path | None = None, clock: Clock = SYSTEM_CLOCK, create: bool = False) -> None:
        self.path = path or default_path()
        self.clock = clock
        self._local = threading.local()
        if not self.path.is_file():
            if not create:
                raise UsageError(
                    f"{self.path}: no drill database there, so no drill has run with it "
                    "(--db / DRILL_DB); `drill run` creates one"
                )
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._open(create)
        except sqlite3.DatabaseError as exc:
            raise UsageError(
                f"{self.path}: not a drill database ({exc}); choose another with --db or DRILL_DB"
            ) from None

    def _open(self, create: bool) -> None:
        with closing(sqlite3.connect(self.path, timeout=30, isolation_level=None)) as conn:
            conn.execute("PRAGMA busy_timeout = 30000")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = {
                name: {row[1] for row in conn.execute(f"PRAGMA table_info({name})")}
                for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                if not name.startswith("sqlite_")
            }
        _check_schema(self.path, version, tables)
        if version < SCHEMA_VERSION and not create:
            raise UsageError(f"{self.path}: written by an older drill (schema {version}); a `drill run` upgrades it")
        if create:
            self._migrate()

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection, opened once: a run's controller reads the timeline twice a
        second, and a connection per call cost more than the query. Every statement commits on
        its own (autocommit), so other processes see each event as soon as it is written."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA busy_timeout = 30000")
            conn.execute("PRAGMA journal_mode = WAL")
            # In WAL mode, NORMAL syncs at checkpoints, not at every commit (one SLI record a second
            # each); a power cut may lose the last few, a crash loses none and nothing corrupts.
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._local.conn = conn
        yield conn

    def _migrate(self) -> None:
        """Bring the schema up to date (a drill being started only)."""
        with self._db() as conn:
            conn.execute("BEGIN IMMEDIATE")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                conn.execute("ROLLBACK")
                raise DrillError(
                    f"{self.path} has schema version {version}, newer than this drill knows ({SCHEMA_VERSION}): "
                    "upgrade drill, or point --db / DRILL_DB at another file"
                )
            for number in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[number].split(";"):
                    if statement.strip():
                        conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")

    # Runs -----------------------------------------------------------------------

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
    ) -> None:
        with self._db() as conn:
            conn.execute(
                "INSERT INTO runs (run_id, drill, drill_file, team, responders, gameday, seed, fault, started) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    drill,
                    drill_file,
                    team,
                    json.dumps(responders),
                    gameday,
                    seed,
                    fault,
                    (started or self.clock.utc()).isoformat(),
                ),
            )

    def end_run(self, run_id: str, outcome: str, scores: dict[str, Any]) -> None:
        with self._db() as conn:
            conn.execute(
                "UPDATE runs SET outcome = ?, ended = ?, scores = ? WHERE run_id = ?",
                (outcome, self.clock.utc().isoformat(), json.dumps(scores), run_id),
            )

    def run(self, run_id: str) -> RunRow:
        with self._db() as conn:
            row = conn.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise UsageError(f"run {run_id}: no drill run with that id in {self.path} (`drill runs` lists them)")
        return _run_row(row)

    def runs(self) -> list[RunRow]:
        with self._db() as conn:
            return [_run_row(r) for r in conn.execute("SELECT * FROM runs ORDER BY started").fetchall()]

    def active_run(self, run_id: str | None) -> RunRow:
        """The run a responder's command is for: the one given, or the only active one."""
        if run_id:
            row = self.run(check_run_id(run_id))
            if not row.active:
                raise UsageError(f"--run {run_id}: that run is over ({row.outcome})")
            return row
        active = [r for r in self.runs() if r.active]
        if not active:
            raise UsageError("no drill is running; start one with `drill run traffic-tango`")
        if len(active) > 1:
            raise UsageError(f"{len(active)} drills are running ({', '.join(r.run_id for r in active)}): give --run")
        return active[0]

    # Events ---------------------------------------------------------------------

    def append(
        self,
        run_id: str,
        event: str,
        by: str,
        detail: str = "",
        data: Mapping[str, Any] | None = None,
        at: datetime | None = None,
    ) -> Event:
        moment = at or self.clock.utc()
        with self._db() as conn:
            started = conn.execute("SELECT started FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if started is None:
                raise UsageError(f"run {run_id}: no drill run with that id in {self.path} (`drill runs` lists them)")
            offset = (moment - datetime.fromisoformat(started[0])).total_seconds()
            cursor = conn.execute(
                "INSERT INTO events (run_id, event, at, offset_s, by, detail, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (run_id, event, moment.isoformat(), offset, by, detail, json.dumps(dict(data or {}))),
            )
            number = cursor.lastrowid or 0
        return Event(number, event, moment.isoformat(), round(offset, 3), by, detail, dict(data or {}))

    def events(self, run_id: str, after: int = 0) -> list[Event]:
        with self._db() as conn:
            rows = conn.execute(
                "SELECT id, event, at, offset_s, by, detail, data FROM events WHERE run_id = ? AND id > ? ORDER BY id",
                (run_id, after),
            ).fetchall()
        return [Event(r[0], r[1], r[2], round(r[3], 3), r[4], r[5], json.loads(r[6])) for r in rows]

    def add_slis(self, run_id: str, offset_s: float, data: dict[str, Any]) -> None:
        with self._db() as conn:
            conn.execute(
                "INSERT INTO slis (run_id, offset_s, data) VALUES (?, ?, ?)", (run_id, offset_s, json.dumps(data))
            )

    def slis(self, run_id: str) -> list[tuple[float, dict[str, Any]]]:
        with self._db() as conn:
            rows = conn.execute("SELECT offset_s, data FROM slis WHERE run_id = ? ORDER BY offset_s", (run_id,))
            return [(r[0], json.loads(r[1])) for r in rows.fetchall()]


def _check_schema(path: Path, version: int, tables: dict[str, set[str]]) -> None:
    """Refuse what is not a drill database: a newer schema, another program's tables, missing columns."""
    if version > SCHEMA_VERSION:
        raise UsageError(
            f"{path} has schema version {version}, newer than this drill knows ({SCHEMA_VERSION}): "
            "upgrade drill, or point --db / DRILL_DB at another file"
        )
    if version == 0 and tables:
        raise UsageError(
            f"{path}: not a drill database (it holds other tables: {', '.join(sorted(tables))}); "
            "choose another file with --db or DRILL_DB"
        )
    missing = [
        f"{name}.{column}" for name, columns in COLUMNS.items() for column in sorted(columns - tables.get(name, set()))
    ]
    if version > 0 and missing:
        raise UsageError(
            f"{path}: not a drill database (schema {version} but no {', '.join(missing[:3])}); "
            "choose another file with --db or DRILL_DB"
        )


def _run_row(row: tuple[Any, ...]) -> RunRow:
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
    )
