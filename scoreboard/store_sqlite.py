"""The embedded store: one SQLite file.

WAL mode and a busy timeout make concurrent appends from other processes wait their turn
instead of failing; SQLite takes one writer at a time, so event ids are committed in order.
The schema version is the file's PRAGMA user_version (files from earlier drills keep theirs).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from doors.clock import SYSTEM_CLOCK, Clock
from drills.errors import UsageError
from scoreboard.backend import (
    ADD_LEVEL,
    CHOOSE,
    RUN_COLUMNS,
    RunRow,
    check_schema,
    choose_active,
    event_of,
    no_database,
    no_run,
    refuse_newer,
    run_row,
)
from scoreboard.timeline import Event

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
    # 2: the scoreboard lists runs by start; a shared scoreboard holds many.
    "CREATE INDEX runs_by_started ON runs(started);",
    ADD_LEVEL,  # 3: the level a run was played at (`drill run --level`)
)
SCHEMA_VERSION = len(MIGRATIONS)


class SqliteStore:
    """The timeline in one SQLite file. Only `create=True` (a drill being started) may create the
    file or migrate it; every other command opens an existing drill database as it is."""

    def __init__(self, path: Path, clock: Clock = SYSTEM_CLOCK, create: bool = False) -> None:
        self.path = path
        self.where = str(path)
        self.clock = clock
        self._local = threading.local()
        if not self.path.is_file():
            if not create:
                raise no_database(self.where)
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._open(create)
        except sqlite3.DatabaseError as exc:
            raise UsageError(f"{self.path}: not a drill database ({exc}); choose another with {CHOOSE}") from None

    def _open(self, create: bool) -> None:
        with closing(sqlite3.connect(self.path, timeout=30, isolation_level=None)) as conn:
            conn.execute("PRAGMA busy_timeout = 30000")
            conn.execute("BEGIN")  # one snapshot: a drill migrating it meanwhile is seen whole or not at all
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = {
                name: {row[1] for row in conn.execute(f"PRAGMA table_info({name})")}
                for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
                if not name.startswith("sqlite_")
            }
            conn.execute("COMMIT")
        check_schema(self.where, version, SCHEMA_VERSION, tables, create)
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
            try:
                refuse_newer(self.where, version, SCHEMA_VERSION)  # another drill may have upgraded it since
            except UsageError:
                conn.execute("ROLLBACK")
                raise
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
        level: str = "",
    ) -> None:
        moment = (started or self.clock.utc()).isoformat()
        with self._db() as conn:
            conn.execute(
                "INSERT INTO runs (run_id, drill, drill_file, team, responders, gameday, seed, fault, started, level) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, drill, drill_file, team, json.dumps(responders), gameday, seed, fault, moment, level),
            )

    def end_run(self, run_id: str, outcome: str, scores: dict[str, Any]) -> None:
        with self._db() as conn:
            conn.execute(
                "UPDATE runs SET outcome = ?, ended = ?, scores = ? WHERE run_id = ?",
                (outcome, self.clock.utc().isoformat(), json.dumps(scores), run_id),
            )

    def run(self, run_id: str) -> RunRow:
        with self._db() as conn:
            row = conn.execute(f"SELECT {RUN_COLUMNS} FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise no_run(run_id, self.where)
        return run_row(row)

    def runs(self) -> list[RunRow]:
        with self._db() as conn:
            return [run_row(r) for r in conn.execute(f"SELECT {RUN_COLUMNS} FROM runs ORDER BY started").fetchall()]

    def active_run(self, run_id: str | None) -> RunRow:
        return choose_active(self, run_id)

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
                raise no_run(run_id, self.where)
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
        return [event_of(r) for r in rows]

    def add_slis(self, run_id: str, offset_s: float, data: dict[str, Any]) -> None:
        with self._db() as conn:
            conn.execute(
                "INSERT INTO slis (run_id, offset_s, data) VALUES (?, ?, ?)", (run_id, offset_s, json.dumps(data))
            )

    def slis(self, run_id: str) -> list[tuple[float, dict[str, Any]]]:
        with self._db() as conn:
            rows = conn.execute("SELECT offset_s, data FROM slis WHERE run_id = ? ORDER BY offset_s", (run_id,))
            return [(r[0], json.loads(r[1])) for r in rows.fetchall()]
