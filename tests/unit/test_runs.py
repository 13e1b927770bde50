from pathlib import Path

import pytest

from drills.errors import UsageError
from stack.rundir import Endpoints, RunDir, RunRecord, check_run_id, new_run_id, recorded_run_ids


def test_new_run_ids_are_valid_and_distinct() -> None:
    ids = {new_run_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(check_run_id(i) == i for i in ids)


@pytest.mark.parametrize("bad", ["", "xyz", "ABCDEF", "1234567", "../etc"])
def test_bad_run_ids_are_refused_with_the_expected_form(bad: str) -> None:
    with pytest.raises(UsageError, match="expected 6 hex characters"):
        check_run_id(bad)


def test_record_round_trips_through_the_run_directory(tmp_path: Path) -> None:
    run = RunDir("a1b2c3", home=tmp_path)
    run.create()
    record = RunRecord("a1b2c3", "2026-11-24T00:00:00+00:00", 3, "up", Endpoints(32770, 32769, 32768))
    run.save(record)
    assert run.load() == record
    assert record.summary()["url"] == "http://127.0.0.1:32770"
    assert record.summary()["stats_url"] == "http://127.0.0.1:32769/stats"
    assert recorded_run_ids(tmp_path) == ["a1b2c3"]
    run.remove()
    assert not run.exists() and recorded_run_ids(tmp_path) == []


def test_listing_ignores_what_is_not_a_run(tmp_path: Path) -> None:
    (tmp_path / "runs" / "notes").mkdir(parents=True)
    (tmp_path / "runs" / "abcdef").mkdir()
    assert recorded_run_ids(tmp_path) == ["abcdef"]


def test_a_broken_record_loads_as_none(tmp_path: Path) -> None:
    run = RunDir("abcdef", home=tmp_path)
    run.create()
    run.record_file.write_text("{not json")
    assert run.load() is None
