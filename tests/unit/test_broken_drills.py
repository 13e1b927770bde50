"""Issue #13: every broken drill file is a clear error. For each file of the battery
(tests/unit/broken_drills.py): the loader reports it as FILE:LINE: yaml.path: message, sorted
by line; `drill validate` prints every error, one a line, exit 2; `drill run` prints the first
as one line, exit 2, and starts nothing: no run directory, no Docker (DOCKER_HOST points
nowhere, so a Docker attempt would exit 3), no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import common
from cli.main import app
from drills import loader
from playbooks.checks import CHECKS
from tests.unit.broken_drills import BASE, BATTERY, Broken

RUNNER = CliRunner()
NO_DOCKER = "unix:///nonexistent.sock"


def write(tmp_path: Path, case: Broken) -> Path:
    path = tmp_path / "drills" / f"{case.id}.yaml"
    path.parent.mkdir(exist_ok=True)
    if isinstance(case.text, bytes):
        path.write_bytes(case.text)
    else:
        path.write_text(case.text)
    return path


def errors_of(path: Path) -> list[str]:
    with pytest.raises(loader.DrillFileError) as caught:
        loader.load_file(path, CHECKS)
    assert "\n" not in str(caught.value)
    return caught.value.errors


def drill(home: Path, *args: str) -> tuple[int, str]:
    common.doors.cache_clear()  # a new process would build its doors afresh
    env = {"DRILL_HOME": str(home), "DOCKER_HOST": NO_DOCKER, "DRILL_DB": str(home / "default.db")}
    result = RUNNER.invoke(app, list(args), env=env)
    assert "Traceback" not in result.stderr + result.stdout
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.stderr


def test_the_battery_is_big_enough() -> None:
    assert len(BATTERY) >= 60 and len({case.id for case in BATTERY}) == len(BATTERY)


@pytest.mark.parametrize("case", BATTERY, ids=lambda case: case.id)
def test_the_loader_says_where_and_what(tmp_path: Path, case: Broken) -> None:
    path = write(tmp_path, case)
    errors = errors_of(path)
    assert errors[0].startswith(f"{path}:{case.line}: {case.starts}"), errors
    for needle in case.also:
        assert any(needle in error for error in errors), (needle, errors)
    assert all(error.startswith(f"{path}:") for error in errors)
    assert [int(e[len(str(path)) + 1 :].split(":")[0]) for e in errors] == sorted(
        int(e[len(str(path)) + 1 :].split(":")[0]) for e in errors
    )


@pytest.mark.parametrize("case", BATTERY, ids=lambda case: case.id)
def test_validate_prints_every_error_one_a_line(tmp_path: Path, case: Broken) -> None:
    path = write(tmp_path, case)
    code, stderr = drill(tmp_path / "home", "validate", str(path))
    assert code == 2, stderr
    assert stderr.splitlines() == errors_of(path)


@pytest.mark.parametrize("case", BATTERY, ids=lambda case: case.id)
def test_run_refuses_it_in_one_line_and_starts_nothing(tmp_path: Path, case: Broken) -> None:
    path = write(tmp_path, case)
    home = tmp_path / "home"
    code, stderr = drill(home, "run", str(path), "--db", str(tmp_path / "db" / "drill.db"))
    assert code == 2, stderr  # 3 would mean it went looking for Docker
    assert stderr.splitlines() == [f"drill: error: {loader.DrillFileError(str(path), errors_of(path))}"]
    assert not (home / "runs").exists()


def test_run_writes_no_database_for_a_broken_file(tmp_path: Path) -> None:
    for case in BATTERY[:5]:
        path = write(tmp_path, case)
        code, _ = drill(tmp_path / "home", "run", str(path), "--db", str(tmp_path / "db" / "drill.db"))
        assert code == 2
        assert not (tmp_path / "db").exists(), case.id


def test_a_directory_or_a_missing_file_is_one_line(tmp_path: Path) -> None:
    for given, needle in ((tmp_path, "is a directory"), (tmp_path / "gone.yaml", "cannot read it")):
        code, stderr = drill(tmp_path / "home", "validate", str(given))
        assert code == 2 and needle in stderr and len(stderr.splitlines()) == 1, stderr


def test_errors_come_in_line_order_however_many(tmp_path: Path) -> None:
    path = tmp_path / "many.yaml"
    path.write_text(
        "playbook: ../x.md\nstack: {replicas: 0}\ntraffic: {rps: .nan}\nalerts: [{name: a, when: 'rate > 1'}]\n"
        "reference_timeline: [{at: 14:30}]\nroot_cause: {category: lb}\nred_herrings: [{category: lb, says: x}]\n"
        "faults: [lb.drained]\n"
    )
    errors = errors_of(path)
    lines = [int(e.split(":")[1]) for e in errors]
    assert lines == sorted(lines) and len(errors) >= 8 and errors[0].startswith(f"{path}:1: name: is required")


@pytest.mark.parametrize(
    ("extra", "check"),
    [
        ("traffic: {rps: 1.5e2}\n", lambda d: d.rps == 150.0),
        ("traffic: {rps: 1e3}\n", lambda d: d.rps == 1000.0),
        ("stack: {service_ms: 20}\n", lambda d: d.service_ms == 20.0),
        ("reference_timeline: [{at: '14:30', event: alert_fired}]\n", lambda d: d.reference[0].at == "14:30"),
        ("playbook: traffic-tango.md\n", lambda d: d.playbook == "traffic-tango.md"),
    ],
)
def test_what_a_new_user_writes_rightly_is_accepted(tmp_path: Path, extra: str, check: object) -> None:
    path = tmp_path / "fine.yaml"
    path.write_text(BASE + extra)
    drill = loader.load_file(path, CHECKS)
    assert callable(check) and check(drill)


def test_numbers_in_fault_params_and_a_byte_order_mark_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "fine.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + (BASE + "    params: {servers: app2, mode: maint}\n").encode())
    assert dict(loader.load_file(path, CHECKS).variants[0].params) == {"servers": "app2", "mode": "maint"}
    path.write_text(BASE.replace("lb.drained", "lb.weights-skew\n    params: {weight: 50}"))
    assert loader.load_file(path, CHECKS).variants[0].params["weight"] == "50"


def test_a_playbook_beside_the_drills_folder_is_found(tmp_path: Path) -> None:
    (tmp_path / "drills").mkdir()
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "playbooks" / "mine.md").write_text("# Mine\n")
    path = tmp_path / "drills" / "mine.yaml"
    path.write_text(BASE + "playbook: mine.md\n")
    assert loader.load_file(path, CHECKS).playbook == "mine.md"
