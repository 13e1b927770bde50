from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from drills.errors import DrillError, UsageError
from scoreboard.store import SCHEMA_VERSION, Store

WRITER = """
import sys
from scoreboard.store import Store
store = Store(__import__("pathlib").Path(sys.argv[1]))
for i in range(25):
    store.append("abc123", "note", sys.argv[2], f"note {i}")
"""


def test_concurrent_writers_in_other_processes_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "drill.db"
    Store(path, create=True).begin_run("abc123", "traffic-tango", "x.yaml", "blue", [], "2026-Q4", 1, "lb.tango")
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), f"w{n}"]) for n in range(6)]
    assert [w.wait(timeout=60) for w in writers] == [0] * 6
    events = Store(path).events("abc123")
    assert len(events) == 150
    assert {(e.by, e.detail) for e in events} == {(f"w{n}", f"note {i}") for n in range(6) for i in range(25)}


def test_a_newer_schema_is_refused_not_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "drill.db"
    Store(path, create=True)
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    for create in (False, True):
        with pytest.raises(DrillError, match="newer than this drill knows"):
            Store(path, create=create)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1


def test_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello " * 1000)
    with pytest.raises(UsageError, match="not a drill database"):
        Store(path)


def test_active_run_selection(tmp_path: Path) -> None:
    store = Store(tmp_path / "d.db", create=True)
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


def test_a_read_never_creates_a_database_or_its_directories(tmp_path: Path) -> None:
    path = tmp_path / "typo" / "drill.db"
    with pytest.raises(UsageError, match=r"no drill database there.*`drill run` creates one"):
        Store(path)
    assert not (tmp_path / "typo").exists()


def test_another_programs_sqlite_file_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    before = path.read_bytes()
    for create in (False, True):
        with pytest.raises(UsageError, match=r"not a drill database \(it holds other tables: customers\)"):
            Store(path, create=create)
    assert path.read_bytes() == before


def test_a_runs_table_without_drills_columns_is_refused_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "odd.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE runs (id INTEGER PRIMARY KEY, note TEXT)")
        conn.execute("PRAGMA user_version = 1")
    with pytest.raises(UsageError, match=r"not a drill database \(schema 1 but no runs\.drill"):
        Store(path)
