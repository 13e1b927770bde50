"""`drill up` and `drill down` over the fake runtime: the real steps, no Docker."""

from __future__ import annotations

from pathlib import Path

import pytest

from doors.fakes import FakeRuntime, fake_doors
from doors.kit import Doors
from doors.runtime import ContainerInfo, Reaped
from drills.errors import DrillError, StackTimeout
from orchestration import teardown
from stack import provision
from stack.rundir import RunDir
from stack.spec import IMAGES, StackSpec
from tests.unit.fakestack import up


def test_up_renders_the_run_starts_it_and_waits_until_every_replica_serves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = up(tmp_path, monkeypatch)
    run = RunDir(fake.run_id, tmp_path)
    assert (run.lb_config_dir / "haproxy.cfg").read_text().count("server app") == 3
    assert fake.runtime.actions == [f"compose up drill-{fake.run_id}"]
    record = run.load()
    assert record is not None and record.state == "up" and record.endpoints is not None
    assert "app1: 4, app2: 4, app3: 4" in record.extra["traffic"]
    status = provision.status(fake.doors, fake.run_id)[0]
    assert status.running == status.containers == 5 and status.state == "up"


def test_missing_images_stop_up_before_anything_starts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRILL_HOME", str(tmp_path))
    doors, runtime = fake_doors()
    runtime.images = {IMAGES["lb"]: {}}
    with pytest.raises(DrillError, match="not built yet: run `drill images build`"):
        provision.up(doors, StackSpec(replicas=2), progress=lambda line: None)
    assert runtime.actions == [], "nothing started"
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir()), "nothing written"


def never_healthy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Doors, FakeRuntime]:
    """Fake doors whose stack never gets healthy: the balancer checks a port no replica listens on."""
    monkeypatch.setenv("DRILL_HOME", str(tmp_path))
    broken = provision.haproxy_template().replace("default-server check", "default-server check port 8081")
    monkeypatch.setattr(provision, "haproxy_template", lambda: broken)
    doors, runtime = fake_doors()
    runtime.images = {tag: {} for tag in IMAGES.values()}
    return doors, runtime


def test_a_stack_that_never_gets_healthy_times_out_saying_what_it_saw_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doors, runtime = never_healthy(tmp_path, monkeypatch)
    with pytest.raises(StackTimeout, match=r"HAProxy to mark every replica UP; last seen: app1=DOWN, app2=DOWN"):
        provision.up(doors, StackSpec(replicas=2), progress=lambda line: None)
    assert runtime.containers() == [], "a failed up takes its containers down"
    assert not any((tmp_path / "runs").iterdir()), "and its run directory"


def test_a_container_whose_create_was_in_flight_when_up_failed_is_swept_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """compose killed mid-up can have a create in flight: the daemon finishes it after the sweep."""
    doors, runtime = never_healthy(tmp_path, monkeypatch)
    first_reap = runtime.reap

    def reap_then_a_straggler_lands(run_id: str | None) -> Reaped:
        reaped = first_reap(run_id)
        if run_id and not runtime.actions.count("straggler"):
            runtime.actions.append("straggler")
            late = ContainerInfo(f"drill-{run_id}_app3_1", "app3", run_id, "created", None, (), "t9")
            runtime.containers_by_run[run_id] = {"app3": late}
        return reaped

    monkeypatch.setattr(runtime, "reap", reap_then_a_straggler_lands)
    with pytest.raises(StackTimeout):
        provision.up(doors, StackSpec(replicas=2), progress=lambda line: None)
    assert "straggler" in runtime.actions and runtime.containers() == [], "the late container is swept as well"


def test_down_after_a_crash_reverts_the_fault_then_removes_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chaos import inject

    fake = up(tmp_path, monkeypatch)
    config = fake.stack.config_path.read_bytes()
    inject.inject(fake.target, inject.plan(fake.target, "lb.weights-skew", {}))
    assert fake.stack.config_path.read_bytes() != config
    reaped, message = teardown.down(fake.doors, fake.run_id)
    assert message is not None and message.startswith("reverted lb.weights-skew")
    assert reaped.containers == 5, "lb, db and three replicas, found by their label"
    assert fake.runtime.containers() == [] and not RunDir(fake.run_id, tmp_path).exists()
