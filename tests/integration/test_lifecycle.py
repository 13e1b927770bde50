"""Stacks coming and going: side by side, down and down --all, crashes, Ctrl-C, bad ports."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from doors.clock import wait_for
from doors.engine import DockerEngine
from drills.errors import StackTimeout
from stack import provision
from stack.rundir import RunDir, home_id, recorded_run_ids
from stack.spec import StackSpec
from tests.integration.conftest import container, doors_of, drill_cli, served_by, start, stop


def test_two_stacks_side_by_side_do_not_collide(engine: DockerEngine) -> None:
    first = start(engine, replicas=3)
    try:
        second = start(engine, replicas=2)
        try:
            assert first.endpoints and second.endpoints
            assert first.endpoints.lb_port != second.endpoints.lb_port
            assert set(served_by(first.endpoints.url, 30)) == {"app1", "app2", "app3"}
            assert set(served_by(second.endpoints.url, 30)) == {"app1", "app2"}
        finally:
            stop(engine, second.run_id)
        assert set(served_by(first.endpoints.url, 9)) == {"app1", "app2", "app3"}, "down of one hit the other"
    finally:
        stop(engine, first.run_id)


def test_down_all_removes_every_run(engine: DockerEngine, drill_home: Path) -> None:
    runs = [start(engine, replicas=1).run_id for _ in range(2)]
    done = drill_cli("down", "--all")
    assert done.returncode == 0, done.stderr
    for run_id in runs:
        assert f"run {run_id} down" in done.stdout
        assert engine.leftovers(run_id) == []
    assert recorded_run_ids(drill_home) == []


def spawn_up(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "cli.main", "up", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def run_id_once_containers_exist(engine: DockerEngine, drill_home: Path) -> str:
    def probe() -> tuple[bool, str]:
        ids = recorded_run_ids(drill_home)
        found = [c.name for c in engine.containers(ids[0])] if ids else []
        return bool(found), f"run dirs {ids}, containers {found}"

    wait_for("drill up to have created containers", probe, 60, interval_s=0.05)
    return recorded_run_ids(drill_home)[0]


@pytest.mark.parametrize("lose_run_dir", [False, True], ids=["run-dir-kept", "run-dir-lost"])
def test_down_after_drill_up_was_killed(engine: DockerEngine, drill_home: Path, lose_run_dir: bool) -> None:
    proc = spawn_up()
    run_id = run_id_once_containers_exist(engine, drill_home)
    proc.kill()
    proc.wait(timeout=30)
    if lose_run_dir:
        RunDir(run_id).remove()
        assert run_id in provision.known_run_ids(doors_of(engine)), "an orphan must still be found by its label"
    done = drill_cli("down", run_id)
    assert done.returncode == 0, done.stderr
    wait_for(
        "nothing left with the run's label", lambda: (not engine.leftovers(run_id), str(engine.leftovers(run_id))), 10
    )
    assert not RunDir(run_id).exists()


def test_ctrl_c_during_up_tears_the_stack_down(engine: DockerEngine, drill_home: Path) -> None:
    proc = spawn_up()
    run_id = run_id_once_containers_exist(engine, drill_home)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    if proc.returncode == 0:  # up finished before the signal landed; nothing to tear down here
        stop(engine, run_id)
        pytest.skip("drill up completed before Ctrl-C arrived")
    assert proc.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == f"drill: error: interrupted: run {run_id} was torn down"
    assert "Traceback" not in stderr
    assert engine.leftovers(run_id) == [] and not RunDir(run_id).exists()


def test_a_port_in_use_is_one_clear_line_and_leaves_nothing(engine: DockerEngine, drill_home: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = drill_cli("up", "--port", str(port))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        f"drill: error: --port {port}: 127.0.0.1:{port} is already in use; pick a free port or omit --port"
    )
    assert recorded_run_ids(drill_home) == []


def test_a_fixed_free_port_is_used(engine: DockerEngine) -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    record = provision.up(doors_of(engine), StackSpec(replicas=1, lb_port=port), progress=lambda line: None)
    try:
        assert record.endpoints is not None and record.endpoints.lb_port == port
        assert set(served_by(f"http://127.0.0.1:{port}", 3)) == {"app1"}
    finally:
        stop(engine, record.run_id)


def test_a_stack_that_never_serves_times_out_saying_what_it_saw(
    engine: DockerEngine, drill_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database is frozen once its container runs, so the catalog never answers 200."""

    def freeze_db(p: provision.Provisioning) -> None:
        container(engine, p.run.run_id, "db").pause()

    steps = list(provision.UP_STEPS)
    steps.insert([title for title, _ in steps].index("containers running") + 1, ("freeze db", freeze_db))
    monkeypatch.setattr(provision, "UP_STEPS", steps)
    monkeypatch.setattr(provision, "READY_DEADLINE_S", 6.0)
    before = engine.run_ids(home_id())  # this test session's runs only: others may be running here
    with pytest.raises(StackTimeout) as err:
        provision.up(doors_of(engine), StackSpec(replicas=2), progress=lambda line: None)
    assert "timed out after 6s waiting for requests through http://127.0.0.1:" in str(err.value)
    assert "to reach every replica; last seen:" in str(err.value)
    assert recorded_run_ids(drill_home) == []
    assert engine.run_ids(home_id()) == before, "the failed stack left labelled resources behind"
