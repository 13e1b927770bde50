"""The store suite, run against both backends: SQLite (a file) and PostgreSQL (a real server,
a throwaway cluster: tests/pgcluster.py). Every test takes `backend` and runs twice."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from drills.errors import DrillError, UsageError
from scoreboard import store_postgres, store_sqlite
from scoreboard.store import Store, open_store

SCHEMA_VERSION = store_sqlite.SCHEMA_VERSION
assert store_postgres.SCHEMA_VERSION == SCHEMA_VERSION, "both backends migrate to the same schema"

WRITER = """
import sys
from scoreboard.store import open_store
store = open_store(sys.argv[1])
for i in range(25):
    store.append("abc123", "note", sys.argv[2], f"note {i}")
"""

STARTER = """
import sys
from scoreboard.store import open_store
open_store(sys.argv[1], create=True).begin_run(sys.argv[2], "d", "x.yaml", "t", [], "g", 1, "f")
"""


@dataclass
class Backend:
    """One database of one backend, and raw access to it for what only another program would do."""

    name: str
    target: str | Path

    def execute(self, *statements: str) -> list[tuple[Any, ...]]:
        """Run statements outside drill; the last one's rows."""
        rows: list[tuple[Any, ...]] = []
        if isinstance(self.target, Path):
            with sqlite3.connect(self.target) as lite:
                for statement in statements:
                    rows = lite.execute(statement).fetchall()
            lite.close()
            return rows
        with psycopg.connect(self.target, autocommit=True) as conn:
            for statement in statements:
                cursor = conn.execute(statement.encode())
                rows = cursor.fetchall() if cursor.description else []
        return rows

    def set_version(self, version: int) -> None:
        if self.name == "sqlite":
            self.execute(f"PRAGMA user_version = {version}")
        else:
            self.execute(
                "CREATE TABLE IF NOT EXISTS drill_schema (version INTEGER NOT NULL)",
                "DELETE FROM drill_schema",
                f"INSERT INTO drill_schema VALUES ({version})",
            )

    def version(self) -> int:
        query = "PRAGMA user_version" if self.name == "sqlite" else "SELECT max(version) FROM drill_schema"
        return int(self.execute(query)[0][0])

    def tables(self) -> set[str]:
        query = (
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            if self.name == "sqlite"
            else "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        )
        return {row[0] for row in self.execute(query)}

    def migrations(self) -> tuple[str, ...]:
        return store_sqlite.MIGRATIONS if self.name == "sqlite" else store_postgres.MIGRATIONS


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        yield Backend("sqlite", tmp_path / "drill.db")
    else:
        yield Backend("postgres", request.getfixturevalue("postgres_url"))


def started(backend: Backend, run_id: str = "abc123") -> Store:
    store = open_store(backend.target, create=True)
    store.begin_run(run_id, "traffic-tango", "x.yaml", "blue", ["ana", "raj"], "2026-Q4", 2**31 - 1, "lb.tango")
    return store


def test_a_run_round_trips(backend: Backend) -> None:
    store = started(backend)
    begun = datetime.fromisoformat(store.run("abc123").started)
    first = store.append("abc123", "alert_fired", "monitor", "p95 high", {"rule": "p95", "value": 1.5})
    later = store.append("abc123", "note", "ana", "saw it", at=begun + timedelta(seconds=12.3456))
    store.add_slis("abc123", 2.0, {"p95": 9.5, "impact": {"error_pct": 1.0}})
    store.add_slis("abc123", 1.0, {"p95": 8.0})
    store.end_run("abc123", "resolved", {"points": 71.5})
    again = open_store(backend.target)
    assert again.events("abc123") == [first, later] and later.offset_s == 12.346 and later.id > first.id
    assert again.events("abc123", after=first.id) == [later]
    assert again.slis("abc123") == [(1.0, {"p95": 8.0}), (2.0, {"p95": 9.5, "impact": {"error_pct": 1.0}})]
    row = again.run("abc123")
    assert (row.responders, row.seed, row.outcome, row.scores, row.active) == (
        ("ana", "raj"),
        2**31 - 1,
        "resolved",
        {"points": 71.5},
        False,
    )
    assert row.ended is not None and row.ended >= row.started
    with pytest.raises(UsageError, match=r"run zzz999: no drill run with that id in .*`drill runs` lists them"):
        again.append("zzz999", "note", "ana")


def test_the_level_a_run_was_played_at_round_trips(backend: Backend) -> None:
    store = open_store(backend.target, create=True)
    store.begin_run("lvl001", "d", "x.yaml", "t", [], "g", 1, "f", level="veteran")
    store.begin_run("lvl002", "d", "x.yaml", "t", [], "g", 1, "f")
    again = open_store(backend.target)
    assert (again.run("lvl001").level, again.run("lvl002").level) == ("veteran", "")
    assert sorted(r.level for r in again.runs()) == ["", "veteran"]


def test_runs_are_listed_by_start(backend: Backend) -> None:
    store = open_store(backend.target, create=True)
    now = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)
    for run_id, minutes in (("bbbbbb", 5), ("aaaaaa", 9), ("cccccc", 1)):
        store.begin_run(run_id, "d", "x", "t", [], "g", 1, "f", now + timedelta(minutes=minutes))
    assert [r.run_id for r in open_store(backend.target).runs()] == ["cccccc", "bbbbbb", "aaaaaa"]


def test_concurrent_writers_in_other_processes_lose_nothing(backend: Backend) -> None:
    """Six processes append at once while this one follows the run as the controller does,
    `events(after=last seen)`: the follower must see every event, none skipped."""
    store = started(backend)
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(backend.target), f"w{n}"]) for n in range(6)]
    followed: list[int] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        finished = all(w.poll() is not None for w in writers)
        followed += [e.id for e in store.events("abc123", after=followed[-1] if followed else 0)]
        if finished:
            break
    assert [w.wait(timeout=60) for w in writers] == [0] * 6
    events = open_store(backend.target).events("abc123")
    assert len(events) == 150
    assert {(e.by, e.detail) for e in events} == {(f"w{n}", f"note {i}") for n in range(6) for i in range(25)}
    assert followed == [e.id for e in events], "the follower skipped an event committed after a later id"


def test_drills_started_at_once_migrate_once_and_all_record(backend: Backend) -> None:
    ids = [f"run00{n}" for n in range(4)]
    starters = [
        subprocess.Popen([sys.executable, "-c", STARTER, str(backend.target), i], stderr=subprocess.PIPE, text=True)
        for i in ids
    ]
    said = [s.communicate(timeout=60)[1] for s in starters]
    assert [s.returncode for s in starters] == [0] * 4, said
    assert sorted(r.run_id for r in open_store(backend.target).runs()) == ids
    assert backend.version() == SCHEMA_VERSION


def test_a_newer_schema_is_refused_not_rewritten(backend: Backend) -> None:
    open_store(backend.target, create=True)
    backend.set_version(SCHEMA_VERSION + 1)
    for create in (False, True):
        with pytest.raises(DrillError, match=r"newer than this drill knows.*--db / DRILL_DB") as refused:
            open_store(backend.target, create=create)
        assert "\n" not in str(refused.value)
    assert backend.version() == SCHEMA_VERSION + 1


def test_an_older_schema_is_upgraded_by_a_drill_being_started_only(backend: Backend) -> None:
    """A database as drill 1's schema left it, with a run in it: reading commands refuse it with
    one line; `drill run` (create) migrates it and keeps what it held."""
    backend.execute(*[s for s in backend.migrations()[0].split(";") if s.strip()])
    backend.set_version(1)
    backend.execute(
        "INSERT INTO runs (run_id, drill, drill_file, team, responders, gameday, seed, fault, started) "
        "VALUES ('old001', 'd', 'x', 't', '[]', 'g', 1, 'f', '2026-01-01T00:00:00+00:00')"
    )
    with pytest.raises(UsageError, match=r"written by an older drill \(schema 1\); a `drill run` upgrades it"):
        open_store(backend.target)
    assert backend.version() == 1
    store = open_store(backend.target, create=True)
    assert backend.version() == SCHEMA_VERSION
    assert [r.run_id for r in store.runs()] == ["old001"] and store.run("old001").level == ""
    store.append("old001", "note", "ana", "after the upgrade")
    assert [e.detail for e in open_store(backend.target).events("old001")] == ["after the upgrade"]


def test_active_run_selection(backend: Backend) -> None:
    store = open_store(backend.target, create=True)
    with pytest.raises(UsageError, match="no drill is running"):
        store.active_run(None)
    store.begin_run("aaaaaa", "d", "x", "t", [], "g", 1, "f")
    assert store.active_run(None).run_id == "aaaaaa"
    store.begin_run("bbbbbb", "d", "x", "t", [], "g", 1, "f")
    with pytest.raises(UsageError, match="2 drills are running"):
        store.active_run(None)
    store.end_run("aaaaaa", "resolved", {})
    assert store.active_run(None).run_id == "bbbbbb"
    with pytest.raises(UsageError, match="that run is over"):
        store.active_run("aaaaaa")


def test_on_a_shared_scoreboard_the_run_on_this_machine_is_the_active_one(
    backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRILL_HOME", str(tmp_path / "home"))
    store = open_store(backend.target, create=True)
    for run_id in ("aaaaaa", "bbbbbb", "cccccc"):  # bbbbbb and cccccc run on other machines
        store.begin_run(run_id, "d", "x", "t", [], "g", 1, "f")
    (tmp_path / "home" / "runs" / "aaaaaa").mkdir(parents=True)
    assert store.active_run(None).run_id == "aaaaaa"
    (tmp_path / "home" / "runs" / "bbbbbb").mkdir()
    with pytest.raises(UsageError, match=r"3 drills are running \(aaaaaa, bbbbbb, cccccc\): give --run"):
        store.active_run(None)


def test_a_read_never_creates_a_database(backend: Backend) -> None:
    target = backend.target.parent / "typo" / "drill.db" if isinstance(backend.target, Path) else backend.target
    with pytest.raises(UsageError, match=r"no drill database there.*--db / DRILL_DB.*`drill run` creates one"):
        open_store(target)
    if isinstance(target, Path):
        assert not target.parent.exists()
    else:
        assert backend.tables() == set()


def test_another_programs_tables_are_refused_and_left_as_they_were(backend: Backend) -> None:
    backend.execute(
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)", "INSERT INTO customers VALUES (1, 'x')"
    )
    for create in (False, True):
        with pytest.raises(UsageError, match=r"not a drill database \(it holds other tables: customers\)"):
            open_store(backend.target, create=create)
    assert backend.tables() == {"customers"}
    assert backend.execute("SELECT id, name FROM customers") == [(1, "x")]


def test_a_runs_table_without_drills_columns_is_refused_not_a_traceback(backend: Backend) -> None:
    backend.execute("CREATE TABLE runs (id INTEGER PRIMARY KEY, note TEXT)")
    backend.set_version(1)
    with pytest.raises(UsageError, match=r"not a drill database \(schema 1 but no runs\.drill"):
        open_store(backend.target)


# What only one backend can get wrong ----------------------------------------------


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello " * 1000)
    with pytest.raises(UsageError, match="not a drill database"):
        open_store(path)


def test_a_url_of_another_kind_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"mysql://u:\*\*\*@h/d: not a database drill knows \(--db / DRILL_DB\)"):
        open_store("mysql://u:secret@h/d")


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("postgresql://drill:secret@127.0.0.1:1/drill", r"cannot connect to the drill database \(.*refused"),
        ("postgresql://drill@/absent?host={root}", r'cannot connect .*database "absent" does not exist'),
        ("postgresql://a b", r"not a PostgreSQL URL"),
    ],
)
def test_a_bad_or_unreachable_server_is_one_line_naming_the_setting(postgres: Any, url: str, said: str) -> None:
    with pytest.raises(UsageError, match=said) as refused:
        open_store(url.format(root=postgres.root))
    message = str(refused.value)
    assert "--db / DRILL_DB" in message and "\n" not in message and "secret" not in message
