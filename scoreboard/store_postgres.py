"""The shared store: PostgreSQL through psycopg 3, for a scoreboard several machines write to.

Tables and columns are the SQLite store's (times as ISO text, JSON as text), so both answer
alike. The schema version lives in a table of its own (drill_schema); migrations run under an
advisory lock, so two drills started at once on two machines upgrade it once.

Event ids come from a sequence, which PostgreSQL hands out before commit: two appends to one
run could commit out of id order, and a reader following the run with `events(after=id)`
would skip the late one for good. Each append therefore locks its run's row first, so one
run's events commit in id order; appends to different runs still go side by side.
"""

from __future__ import annotations

import json
import select
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import psycopg
from psycopg import conninfo

from doors.clock import SYSTEM_CLOCK, Clock
from drills.errors import DrillError, UsageError
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
    redact,
    refuse_newer,
    run_row,
)
from scoreboard.timeline import Event

MIGRATIONS = (
    """
    CREATE TABLE runs (
        run_id TEXT PRIMARY KEY, drill TEXT NOT NULL, drill_file TEXT NOT NULL, team TEXT NOT NULL,
        responders TEXT NOT NULL, gameday TEXT NOT NULL, seed BIGINT NOT NULL, fault TEXT NOT NULL,
        started TEXT NOT NULL, ended TEXT, outcome TEXT, scores TEXT
    );
    CREATE TABLE events (
        id BIGSERIAL PRIMARY KEY, run_id TEXT NOT NULL REFERENCES runs(run_id),
        event TEXT NOT NULL, at TEXT NOT NULL, offset_s DOUBLE PRECISION NOT NULL, "by" TEXT NOT NULL,
        detail TEXT NOT NULL, data TEXT NOT NULL
    );
    CREATE INDEX events_by_run ON events(run_id, id);
    CREATE TABLE slis (
        run_id TEXT NOT NULL REFERENCES runs(run_id), offset_s DOUBLE PRECISION NOT NULL, data TEXT NOT NULL
    );
    CREATE INDEX slis_by_run ON slis(run_id, offset_s);
    """,
    # 2: the scoreboard lists runs by start; a shared scoreboard holds many.
    "CREATE INDEX runs_by_started ON runs(started);",
    ADD_LEVEL,  # 3: the level a run was played at (`drill run --level`)
)
SCHEMA_VERSION = len(MIGRATIONS)
VERSION_TABLE = "drill_schema"
MIGRATION_LOCK = 0x6472696C6C  # "drill": one advisory lock key for every drill migrating this database
CONNECT_TIMEOUT_S = 10


class PostgresStore:
    """The timeline in a PostgreSQL database (its current schema, normally `public`). Only
    `create=True` creates drill's tables or migrates them; the database itself must exist."""

    def __init__(self, url: str, clock: Clock = SYSTEM_CLOCK, create: bool = False) -> None:
        self.url = url
        self.where = redact(url)
        self.clock = clock
        self._local = threading.local()
        try:
            conninfo.conninfo_to_dict(url)
        except psycopg.ProgrammingError as exc:
            raise UsageError(f"{self.where}: not a PostgreSQL URL ({_first_line(exc)}); fix {CHOOSE}") from None
        with self._db() as conn:
            version, tables = _schema(conn)
        if version == 0 and not tables and not create:
            raise no_database(self.where)
        check_schema(self.where, version, SCHEMA_VERSION, tables, create)
        if create:
            self._migrate()

    def _connect(self, lost: bool = False) -> psycopg.Connection[Any]:
        try:
            return psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
        except psycopg.Error as exc:
            if lost:  # mid-run: not a usage error, the server went away
                raise DrillError(
                    f"{self.where}: lost the drill database, cannot reconnect ({_first_line(exc)})"
                ) from None
            raise UsageError(
                f"{self.where}: cannot connect to the drill database ({_first_line(exc)}); check the server or {CHOOSE}"
            ) from None

    @contextmanager
    def _db(self) -> Iterator[psycopg.Connection[Any]]:
        """This thread's connection, opened once (the controller reads twice a second) and again
        after it broke or the server restarted. Autocommit: other machines see each event as
        soon as it is written."""
        conn: psycopg.Connection[Any] | None = getattr(self._local, "conn", None)
        if conn is not None and not conn.closed and _hung_up(conn):
            conn.close()  # a restart (or a failover) closed it while idle: open a new one
        if conn is None or conn.closed:  # the first one: a wrong URL or no server is the user's to fix
            conn = self._local.conn = self._connect(lost=conn is not None)
        try:
            yield conn
        except psycopg.OperationalError as exc:
            conn.close()  # the next call opens a fresh one
            raise DrillError(f"{self.where}: lost the drill database ({_first_line(exc)})") from None

    def _migrate(self) -> None:
        """Bring the schema up to date (a drill being started only), once however many start."""
        with self._db() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            version, _ = _schema(conn)
            refuse_newer(self.where, version, SCHEMA_VERSION)  # another drill may have upgraded it since
            for number in range(version, SCHEMA_VERSION):
                conn.execute(MIGRATIONS[number])
            conn.execute(f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version INTEGER NOT NULL)")
            conn.execute(f"DELETE FROM {VERSION_TABLE}")
            conn.execute(f"INSERT INTO {VERSION_TABLE} (version) VALUES (%s)", (SCHEMA_VERSION,))

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
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (run_id, drill, drill_file, team, json.dumps(responders), gameday, seed, fault, moment, level),
            )

    def end_run(self, run_id: str, outcome: str, scores: dict[str, Any]) -> None:
        with self._db() as conn:
            conn.execute(
                "UPDATE runs SET outcome = %s, ended = %s, scores = %s WHERE run_id = %s",
                (outcome, self.clock.utc().isoformat(), json.dumps(scores), run_id),
            )

    def run(self, run_id: str) -> RunRow:
        with self._db() as conn:
            row = conn.execute(f"SELECT {RUN_COLUMNS} FROM runs WHERE run_id = %s", (run_id,)).fetchone()
        if row is None:
            raise no_run(run_id, self.where)
        return run_row(row)

    def runs(self) -> list[RunRow]:
        with self._db() as conn:
            rows = conn.execute(f"SELECT {RUN_COLUMNS} FROM runs ORDER BY started, run_id").fetchall()
        return [run_row(r) for r in rows]

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
        with self._db() as conn, conn.transaction():
            # The row lock puts this run's appends in line: ids commit in the order they were drawn.
            started = conn.execute("SELECT started FROM runs WHERE run_id = %s FOR UPDATE", (run_id,)).fetchone()
            if started is None:
                raise no_run(run_id, self.where)
            offset = (moment - datetime.fromisoformat(started[0])).total_seconds()
            row = conn.execute(
                'INSERT INTO events (run_id, event, at, offset_s, "by", detail, data) '
                "VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
                (run_id, event, moment.isoformat(), offset, by, detail, json.dumps(dict(data or {}))),
            ).fetchone()
        number = int(row[0]) if row else 0
        return Event(number, event, moment.isoformat(), round(offset, 3), by, detail, dict(data or {}))

    def events(self, run_id: str, after: int = 0) -> list[Event]:
        with self._db() as conn:
            rows = conn.execute(
                'SELECT id, event, at, offset_s, "by", detail, data FROM events '
                "WHERE run_id = %s AND id > %s ORDER BY id",
                (run_id, after),
            ).fetchall()
        return [event_of(r) for r in rows]

    def add_slis(self, run_id: str, offset_s: float, data: dict[str, Any]) -> None:
        with self._db() as conn:
            conn.execute(
                "INSERT INTO slis (run_id, offset_s, data) VALUES (%s, %s, %s)", (run_id, offset_s, json.dumps(data))
            )

    def slis(self, run_id: str) -> list[tuple[float, dict[str, Any]]]:
        with self._db() as conn:
            rows = conn.execute(
                "SELECT offset_s, data FROM slis WHERE run_id = %s ORDER BY offset_s", (run_id,)
            ).fetchall()
        return [(r[0], json.loads(r[1])) for r in rows]


def _schema(conn: psycopg.Connection[Any]) -> tuple[int, dict[str, set[str]]]:
    """The recorded schema version (0: none) and the tables in the current schema, with their
    columns (drill's version table left out)."""
    tables: dict[str, set[str]] = {}
    for table, column in conn.execute(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()"
    ).fetchall():
        tables.setdefault(table, set()).add(column)
    if VERSION_TABLE not in tables:
        return 0, tables
    del tables[VERSION_TABLE]
    row = conn.execute(f"SELECT max(version) FROM {VERSION_TABLE}").fetchone()
    return int(row[0] or 0) if row else 0, tables


def _hung_up(conn: psycopg.Connection[Any]) -> bool:
    """An idle autocommit connection has nothing to read unless the server said goodbye (a
    restart's "terminating connection" and EOF): one poll of its socket, no round trip."""
    try:
        readable, _, _ = select.select([conn.fileno()], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
